/** A plain-text table: columns padded to their widest cell, two spaces apart, no trailing blanks. */
export function renderTable(headers: string[], rows: string[][], indent = ""): string[] {
    const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)));
    const line = (cells: string[]) =>
        indent + cells.map((cell, column) => (cell ?? "").padEnd(widths[column])).join("  ").trimEnd();
    return [line(headers), ...rows.map(line)];
}

/** `2026-01-21 10:04Z` (UTC, to the minute; with seconds when asked), `-` when unknown. */
export function formatDate(date: Date | undefined, seconds = false): string {
    if (!date || Number.isNaN(date.getTime())) {
        return "-";
    }
    const iso = date.toISOString();
    return `${iso.slice(0, 10)} ${iso.slice(11, seconds ? 19 : 16)}Z`;
}

/** `84.2 MiB`, `512.0 KiB`, `-` when unknown. */
export function formatSize(bytes: number | undefined): string {
    if (bytes === undefined || !Number.isFinite(bytes)) {
        return "-";
    }
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit += 1;
    }
    return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The first 12 hex digits of an image ID or digest, as podman shows them; `-` when unknown. */
export function shortId(id: string | undefined): string {
    return id ? id.replace(/^sha256:/, "").slice(0, 12) : "-";
}
