/** LIKE pattern for "contains `text`", with `%`, `_` and `\` matched literally (use with ESCAPE '\'). */
export const containsPattern = (text: string) => `%${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
