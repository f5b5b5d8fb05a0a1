// msgauth public API: re-exports only.

export * from "./dkim/index.js";
export * from "./dns/index.js";
export * from "./message/index.js";
export * from "./spf/index.js";
