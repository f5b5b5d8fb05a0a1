export { checkSpf, checkSpfHelo, type SpfOptions, type SpfParams, type SpfResult, type SpfResultWord } from "./check.js";
export { expandMacro, type MacroPart, type MacroValues, parseMacroString } from "./macro.js";
export { type ReceivedSpfOptions, receivedSpf } from "./received-spf.js";
export { type Directive, isSpfRecord, type Mechanism, parseSpfRecord, type Qualifier, type SpfRecord } from "./record.js";
