import { useState, type FormEvent } from "react";
import { answerParts, formatCost, formatMs, type Rating, type Turn } from "../chat/state";
import { describeError } from "../errors";
import type { Contradiction, Source, UnsupportedSentence } from "../protocol";

/** What a contradicted sentence's mark says on hover: the source and the differing words.
 * Worded as a prompt to check, not a verdict: the word-level judge also marks some correct,
 * reworded sentences (docs/orchestration.md, "What the blind set says"). */
export function contradictionTitle(c: Contradiction): string {
  const words = c.differences.map((d) => `${d.kind}: “${d.claim}” vs “${d.source}”`).join("; ");
  const source = c.source !== null ? `source [${c.source}]` : "a source";
  return `May contradict ${source}, check it: “${c.evidence}”${words ? ` (${words})` : ""}`;
}

function ContradictedText({ text, contradiction }: { text: string; contradiction: Contradiction }) {
  const [open, setOpen] = useState(false);
  return (
    <span className="contradiction">
      <mark
        className="contradicted"
        title={contradictionTitle(contradiction)}
        role="button"
        tabIndex={0}
        aria-expanded={open}
        onClick={() => setOpen(!open)}
        onKeyDown={(e) => {
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            setOpen(!open);
          }
        }}
      >
        {text}
      </mark>
      {open && (
        <span className="evidence" data-testid="evidence">
          {contradiction.source !== null ? `Source [${contradiction.source}]` : "A source"} says: “{contradiction.evidence}”
        </span>
      )}
    </span>
  );
}

function AnswerText({
  text,
  unsupported,
  contradicted = [],
  anchor,
}: {
  text: string;
  unsupported: UnsupportedSentence[];
  contradicted?: Contradiction[];
  anchor: string;
}) {
  return (
    <p className="answer-text">
      {answerParts(text, unsupported, contradicted).map((part, i) =>
        part.citation !== null ? (
          <a key={i} className="cite" href={`#${anchor}-src-${part.citation}`} aria-label={`source ${part.citation}`}>
            {part.text}
          </a>
        ) : part.contradiction ? (
          <ContradictedText key={i} text={part.text} contradiction={part.contradiction} />
        ) : part.unsupported ? (
          <mark key={i} className="unsupported" title="Not supported by the sources (grounding check)">
            {part.text}
          </mark>
        ) : (
          <span key={i}>{part.text}</span>
        ),
      )}
    </p>
  );
}

function Sources({ sources, anchor, closest = false }: { sources: Source[]; anchor: string; closest?: boolean }) {
  if (sources.length === 0) return null;
  // When the documents do not cover the question, these are only the closest matches.
  return (
    <details className={`sources${closest ? " closest" : ""}`} open={!closest}>
      <summary>
        {closest ? "Closest matches" : "Sources"} <span className="count">({sources.length})</span>
      </summary>
      <ol>
        {sources.map((s) => (
          <li key={s.chunkId || s.n} id={`${anchor}-src-${s.n}`}>
            <span className="source-head">
              <span className="n">[{s.n}]</span> <span className="doc">{s.documentName}</span>{" "}
              <span className="score" title="Retrieval score (higher is better; compare within one answer)">
                score {s.score.toFixed(3)}
              </span>
            </span>
            <span className="snippet">{s.snippet}</span>
          </li>
        ))}
      </ol>
    </details>
  );
}

/** A thumb icon drawn inline, so it shows on systems without an emoji font. */
function Thumb({ down = false }: { down?: boolean }) {
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" className={down ? "thumb-down" : undefined}>
      <path
        d="M7 10v11H3V10h4zm2 11h8.3a2 2 0 0 0 2-1.6l1.5-7A2 2 0 0 0 18.8 10H14l.8-4.2a1.6 1.6 0 0 0-2.9-1.2L9 9.5V21z"
        fill="currentColor"
      />
    </svg>
  );
}

function FeedbackControl({ turn, onFeedback }: { turn: Turn; onFeedback: (id: string, r: Rating, c: string) => Promise<void> }) {
  const [rating, setRating] = useState<Rating | null>(turn.feedback?.rating ?? null);
  const [comment, setComment] = useState(turn.feedback?.comment ?? "");
  const [open, setOpen] = useState(false);
  const [state, setState] = useState<"idle" | "sending" | "sent" | "failed">(turn.feedback ? "sent" : "idle");
  const [error, setError] = useState("");
  if (!turn.messageId) return null;
  const id = turn.messageId;

  async function submit(e?: FormEvent) {
    e?.preventDefault();
    if (!rating) return;
    setState("sending");
    try {
      await onFeedback(id, rating, comment.trim());
      setState("sent");
      setOpen(false);
    } catch (err) {
      setError((err as Error).message);
      setState("failed");
    }
  }

  function choose(r: Rating) {
    setRating(r);
    setOpen(true);
    setState((s) => (s === "sent" ? "idle" : s));
  }

  return (
    <div className="feedback">
      <span className="muted">Helpful?</span>
      <button type="button" className="icon thumb" aria-pressed={rating === "up"} aria-label="Thumbs up" onClick={() => choose("up")}>
        <Thumb />
      </button>
      <button type="button" className="icon thumb" aria-pressed={rating === "down"} aria-label="Thumbs down" onClick={() => choose("down")}>
        <Thumb down />
      </button>
      {state === "sent" && (
        <span className="ok" role="status">
          Thanks for the feedback{turn.feedback?.comment || comment ? " and the comment" : ""}.
        </span>
      )}
      {open && (
        <form className="feedback-form" onSubmit={submit}>
          <label htmlFor={`fb-${id}`} className="visually-hidden">
            Comment (optional)
          </label>
          <input
            id={`fb-${id}`}
            autoFocus
            maxLength={2000}
            placeholder={rating === "down" ? "What was wrong? (optional)" : "What was good? (optional)"}
            value={comment}
            onChange={(e) => setComment(e.target.value)}
            onKeyDown={(e) => e.key === "Escape" && setOpen(false)}
          />
          <button type="submit" className="primary" disabled={state === "sending"}>
            Send feedback
          </button>
        </form>
      )}
      {state === "failed" && (
        <span className="error-text" role="alert">
          Feedback not saved: {error}
        </span>
      )}
    </div>
  );
}

/** "Mark as eval case": this turn becomes a case of the workspace's eval set (its question, its cited
 * documents, and the answer as reference when the user says it is right). */
function MarkCaseControl({ messageId, onMarkCase }: { messageId: string; onMarkCase: MarkCase }) {
  const [state, setState] = useState<"idle" | "sending" | "marked" | "failed">("idle");
  const [error, setError] = useState("");

  async function mark(correct: boolean) {
    setState("sending");
    try {
      await onMarkCase(messageId, correct);
      setState("marked");
    } catch (err) {
      setError((err as Error).message);
      setState("failed");
    }
  }

  return (
    <div className="mark-case">
      <button type="button" disabled={state === "sending"} onClick={() => void mark(false)}>
        Mark as eval case
      </button>
      <button type="button" disabled={state === "sending"} onClick={() => void mark(true)} title="The answer becomes the reference answer">
        Mark as eval case (answer is right)
      </button>
      {state === "marked" && (
        <span className="ok" role="status">
          Added to the eval set.
        </span>
      )}
      {state === "failed" && (
        <span className="error-text" role="alert">
          Not marked: {error}
        </span>
      )}
    </div>
  );
}

export type MarkCase = (messageId: string, correct: boolean) => Promise<void>;

export function TurnView({
  turn,
  onFeedback,
  onMarkCase,
}: {
  turn: Turn;
  onFeedback: (id: string, r: Rating, c: string) => Promise<void>;
  onMarkCase?: MarkCase;
}) {
  const anchor = `turn-${turn.key}`;
  const final = turn.final;
  const perModel = final && final.answers.length > 1 ? final.answers : null;
  const liveColumns = !final && turn.streams.length > 1 ? turn.streams : null;
  const total = final?.latencyMs.total;
  const first = final?.latencyMs.firstToken;
  return (
    <li className="turn" data-status={turn.status} data-message-id={turn.messageId ?? undefined}>
      {turn.question && (
        <div className="msg user">
          <span className="visually-hidden">You asked:</span>
          {turn.question}
        </div>
      )}
      <div className="msg assistant" aria-busy={turn.status === "waiting" || turn.status === "streaming"}>
        {turn.status === "waiting" && <p className="muted thinking">Searching your documents…</p>}
        {liveColumns && (
          <div className="columns">
            {liveColumns.map((s) => (
              <section key={s.model} className="column">
                <h3>{s.model}</h3>
                <p className="answer-text streaming">{s.text}</p>
              </section>
            ))}
          </div>
        )}
        {!final && !liveColumns && turn.streams[0] && (
          <p className={`answer-text${turn.status === "streaming" ? " streaming" : ""}`} data-testid="streaming">
            {turn.streams[0].text}
          </p>
        )}
        {final && (
          <>
            {(final.agreement !== null || final.grounding !== null) && (
              <p className="scores">
                {final.agreement !== null && (
                  <span className="badge" title="How much the models' answers agree">
                    agreement {final.agreement.toFixed(2)}
                  </span>
                )}
                {final.grounding !== null && (
                  <span className="badge" title="How well the answer is supported by the sources">
                    grounding {final.grounding.toFixed(2)}
                  </span>
                )}
                {final.unsupported.length > 0 && (
                  <span className="badge warn">
                    {final.unsupported.length} unsupported sentence{final.unsupported.length === 1 ? "" : "s"} marked
                  </span>
                )}
                {final.contradicted.length > 0 && (
                  <span className="badge error" title="A source may say otherwise: click a marked sentence to compare">
                    {final.contradicted.length} possibly contradicted sentence{final.contradicted.length === 1 ? "" : "s"} marked
                  </span>
                )}
              </p>
            )}
            <AnswerText
              text={final.answer}
              unsupported={final.unsupported}
              contradicted={final.contradicted}
              anchor={anchor}
            />
            {perModel && (
              <div className="columns" aria-label="Each model's answer">
                {perModel.map((a) => (
                  <section key={a.model} className={`column${a.failed ? " failed" : ""}`}>
                    <h3>
                      {a.model}
                      {a.cost ? <span className="muted"> · {formatCost(a.cost)}</span> : null}
                    </h3>
                    {a.failed ? (
                      <p className="error-text">{a.error?.message || "This model failed."}</p>
                    ) : (
                      <AnswerText text={a.text} unsupported={[]} anchor={anchor} />
                    )}
                  </section>
                ))}
              </div>
            )}
          </>
        )}
        {turn.error && (
          <div className="turn-error" role="alert" data-code={turn.error.code}>
            <strong>{describeError(turn.error.code).title}.</strong> {turn.error.message}{" "}
            <span className="muted">{describeError(turn.error.code).hint}</span>
          </div>
        )}
        <Sources sources={turn.sources} anchor={anchor} closest={final?.covered === false} />
        {final && (
          <p className="stats" aria-label="Answer statistics">
            <span>{final.model}</span>
            <span>
              {final.usage.inputTokens} in / {final.usage.outputTokens} out tokens
            </span>
            <span>{formatCost(final.cost)}</span>
            <span>
              {formatMs(total)}
              {first !== null && first !== undefined ? ` (first token ${formatMs(first)})` : ""}
            </span>
            {final.cached && <span>cached</span>}
          </p>
        )}
        {(final || turn.status === "error") && turn.messageId && <FeedbackControl turn={turn} onFeedback={onFeedback} />}
        {final && turn.messageId && onMarkCase && <MarkCaseControl messageId={turn.messageId} onMarkCase={onMarkCase} />}
      </div>
    </li>
  );
}
