/** A SQL string literal: `wrangler d1 execute` takes SQL text without bound parameters. */
export const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
