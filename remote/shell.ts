/**
 * Quotes a value as one shell word that the shell never expands: whatever
 * the value holds, it stays data.
 */
export function quote(value: string): string {
    if (value.includes("\0")) {
        throw new Error("a shell word cannot contain a NUL byte");
    }
    if (/^[A-Za-z0-9_@%+=:,.\/-]+$/.test(value) && !value.startsWith("-")) {
        return value;
    }
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `name=value` with the value quoted. */
export function assign(name: string, value: string): string {
    return `${name}=${quote(value)}`;
}

/**
 * A path for the script: `~/x` becomes `"$HOME"/x` so it resolves to the SSH
 * user's home on the server; anything else is quoted as is.
 */
export function quotePath(path: string): string {
    return path.startsWith("~/") ? `"$HOME"/${quote(path.slice(2))}` : quote(path);
}

const DELIMITER = "ROLLBACK_SCRIPT";

/**
 * Wraps a bash script into the one command line @pulumi/command hands to the
 * login shell on the server (which may not be bash). The quoted heredoc passes
 * the body through unexpanded, keeps it readable in the preview diff, and
 * leaves the script's own stdin alone.
 */
export function bashCommand(lines: string[]): string {
    if (lines.join("\n").split("\n").includes(DELIMITER)) {
        throw new Error(`a script line may not be ${DELIMITER}`);
    }
    return [`exec bash -c "$(cat <<'${DELIMITER}'`, ...lines, DELIMITER, `)"`].join("\n");
}
