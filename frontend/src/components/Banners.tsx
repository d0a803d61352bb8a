import { useEffect } from "react";
import { describeError } from "../errors";

export interface Banner {
  id: number;
  code: string;
  message: string;
}

/** Errors that are not part of one chat turn; Escape dismisses them all. */
export function Banners({ banners, onDismiss }: { banners: Banner[]; onDismiss: (id: number) => void }) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") banners.forEach((b) => onDismiss(b.id));
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [banners, onDismiss]);
  return (
    <div className="banners" aria-live="assertive">
      {banners.map((b) => {
        const info = describeError(b.code);
        return (
          <div key={b.id} className="banner" role="alert" data-code={b.code}>
            <strong>{info.title}.</strong>
            <span className="message">
              {b.message} <span className="muted">{info.hint}</span>
            </span>
            <button type="button" aria-label="Dismiss" onClick={() => onDismiss(b.id)}>
              ×
            </button>
          </div>
        );
      })}
    </div>
  );
}
