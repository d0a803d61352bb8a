/** The radio group an "Add" form opens with: which kind of thing to add (a site or a feed; a
 * Q&A pair or a text). One component so every add form reads and behaves the same. */
export function KindPicker<K extends string>(p: {
  name: string;
  kinds: readonly K[];
  label: (kind: K) => string;
  value: K;
  onChange: (kind: K) => void;
}) {
  return (
    <fieldset className="kinds">
      <legend>Add</legend>
      {p.kinds.map((k) => (
        <label key={k}>
          <input
            type="radio"
            name={p.name}
            value={k}
            checked={p.value === k}
            onChange={() => p.onChange(k)}
          />{" "}
          {p.label(k)}
        </label>
      ))}
    </fieldset>
  );
}
