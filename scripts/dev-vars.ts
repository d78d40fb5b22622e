// The local secrets file for `wrangler dev`, as text: start.ts does the file I/O.

const CHECKPOINT_KEY_SET = /^[ \t]*(?:export[ \t]+)?CHECKPOINT_SIGNING_KEY[ \t]*=(?![ \t]*(?:''|"")?[ \t\r]*$)/m;
const CHECKPOINT_KEY_EMPTY = /^[ \t]*(?:export[ \t]+)?CHECKPOINT_SIGNING_KEY[ \t]*=[ \t]*(?:''|"")?[ \t]*(?=\r?$)/m;

const checkpointKeyLine = (jwk: string) => `CHECKPOINT_SIGNING_KEY='${jwk}'`;

/** A new .dev.vars with fresh secrets (`secret()` returns a new random one each call). */
export function freshDevVars(secret: () => string, checkpointJwk: string): string {
  return [
    "# Local secrets for `wrangler dev`, made by `npm start`. Never commit this file.",
    `SECRET_KEY=${secret()}`,
    `AUDIT_HMAC_KEY=${secret()}`,
    `AUDIT_HMAC_RETIRED_KEYS=[]`,
    `REPORT_SIGNING_KEY=${secret()}`,
    checkpointKeyLine(checkpointJwk),
    "# Local only: lets webhooks target http and loopback receivers. Never set it in production.",
    "ALLOW_INSECURE_WEBHOOKS=true",
    "",
  ].join("\n");
}

/**
 * An older .dev.vars may predate the checkpoint key; without it nothing protects the tail of a chain
 * and reports go unattested. Returns the file with the key filled in where it is empty or appended
 * (every other line kept as it was), or null when it already sets one.
 */
export function withCheckpointKey(text: string, checkpointJwk: string): string | null {
  if (CHECKPOINT_KEY_SET.test(text)) return null;
  if (CHECKPOINT_KEY_EMPTY.test(text)) return text.replace(CHECKPOINT_KEY_EMPTY, checkpointKeyLine(checkpointJwk));
  const separator = text === "" || text.endsWith("\n") ? "" : "\n";
  return `${text}${separator}# Added by \`npm start\`: signs checkpoints and report attestations.\n${checkpointKeyLine(checkpointJwk)}\n`;
}
