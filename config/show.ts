const MAX_SHOWN = 60;

/** Shows a bad config value in an error message: quoted, escaped (non-ASCII too), clipped. */
export function showValue(value: string): string {
    const clipped = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value;
    return JSON.stringify(clipped).replace(/[^\x20-\x7e]/g, (c) => (c === "…" ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
}
