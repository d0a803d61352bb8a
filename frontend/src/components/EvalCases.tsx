import { useCallback, useEffect, useState } from "react";
import type { ApiClient, EvalCase, EvalCaseStatus, Workspace } from "../api";
import { ApiError } from "../errors";
import { wideScreen } from "./layout";

export type CaseAction = "accept" | "reject" | "delete";

/** What a reviewer may do with a case: accept or reject what is not already so, always delete.
 * An answerable case without documents cannot be accepted until it names them (the API says so too). */
export function caseActions(c: EvalCase): CaseAction[] {
  const actions: CaseAction[] = [];
  const acceptable = !c.answerable || c.relevantDocumentIds.length > 0;
  if (c.status !== "accepted" && acceptable) actions.push("accept");
  if (c.status !== "rejected") actions.push("reject");
  actions.push("delete");
  return actions;
}

/** The line under a case's question: where it came from, its documents, its note. */
export function caseMeta(c: EvalCase): string {
  const parts: string[] = [c.synthetic ? "generated (synthetic)" : c.origin];
  if (!c.answerable) parts.push("must be declined");
  else parts.push(`${c.relevantDocumentIds.length} document${c.relevantDocumentIds.length === 1 ? "" : "s"}`);
  if (c.referenceAnswer) parts.push("reference answer");
  if (c.note) parts.push(`“${c.note}”`);
  return parts.join(" · ");
}

const FILTERS: (EvalCaseStatus | "all")[] = ["candidate", "accepted", "rejected", "all"];

/** The workspace's eval set: filter by status, accept, reject, delete. `version` reloads it
 * (bumped when a turn is marked or rated). Callers who may not see the set get a short note. */
export function EvalCases(p: {
  api: ApiClient;
  workspace: Workspace | null;
  version: number;
  onError: (e: unknown, context?: string) => void;
}) {
  const [cases, setCases] = useState<EvalCase[] | null>(null);
  const [filter, setFilter] = useState<EvalCaseStatus | "all">("candidate");
  const [forbidden, setForbidden] = useState(false);
  const workspaceId = p.workspace?.id ?? null;
  const { api, onError, version } = p;

  const refresh = useCallback(async () => {
    if (!workspaceId) {
      setCases(null);
      return;
    }
    try {
      setCases(await api.listEvalCases(workspaceId, filter === "all" ? undefined : filter));
      setForbidden(false);
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) setForbidden(true);
      else onError(error, "Loading the eval set");
    }
  }, [api, workspaceId, filter, onError]);

  useEffect(() => {
    void refresh();
  }, [refresh, version]);

  async function act(c: EvalCase, action: CaseAction) {
    if (!workspaceId) return;
    try {
      if (action === "delete") await api.deleteEvalCase(workspaceId, c.id);
      else await api.updateEvalCase(workspaceId, c.id, { status: action === "accept" ? "accepted" : "rejected" });
      await refresh();
    } catch (error) {
      onError(error, `Updating eval case “${c.question.slice(0, 40)}”`);
    }
  }

  if (!workspaceId) return null;
  return (
    <details className="panel eval-cases" open={wideScreen()}>
      <summary>
        <h2>
          Eval set <span className="count">{cases && !forbidden ? `(${cases.length})` : ""}</span>
        </h2>
      </summary>
      <div role="region" aria-label="Eval set">
        {forbidden ? (
          <p className="muted">Only workspace managers review the eval set; mark your own answers with “Mark as eval case”.</p>
        ) : (
          <>
            <div className="filters" role="group" aria-label="Show cases">
              {FILTERS.map((f) => (
                <button key={f} type="button" aria-pressed={filter === f} onClick={() => setFilter(f)}>
                  {f}
                </button>
              ))}
            </div>
            {cases === null ? (
              <p className="muted">Loading…</p>
            ) : cases.length === 0 ? (
              <p className="muted">No {filter === "all" ? "" : `${filter} `}cases.</p>
            ) : (
              <ul className="cases" aria-label="Eval cases">
                {cases.map((c) => (
                  <li key={c.id} data-status={c.status}>
                    <span className="question">{c.question}</span>
                    <span className="muted meta">{caseMeta(c)}</span>
                    <span className="actions">
                      {caseActions(c).map((a) => (
                        <button
                          key={a}
                          type="button"
                          className={a === "delete" ? "danger" : undefined}
                          aria-label={`${a} “${c.question.slice(0, 60)}”`}
                          onClick={() => void act(c, a)}
                        >
                          {a}
                        </button>
                      ))}
                    </span>
                  </li>
                ))}
              </ul>
            )}
          </>
        )}
      </div>
    </details>
  );
}
