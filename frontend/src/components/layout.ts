/** Side panels start open on wide screens and folded on phones (the chat comes first there). */
export function wideScreen(): boolean {
  return typeof window === "undefined" || !window.matchMedia || !window.matchMedia("(max-width: 760px)").matches;
}
