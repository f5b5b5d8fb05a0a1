export { buildDsn, type DsnBuild, type DsnOptions, type DsnRecipient, formatDate } from "./build.js";
export { type DsnParse, type ParsedDsn, type ParsedDsnRecipient, parseDsn } from "./parse.js";
