export { type CommandOptions, type CommandParse, type MailParams, parseCommand, type RcptParams, type SmtpCommand } from "./command.js";
export { buildEhloReply, parseEhloReply } from "./ehlo.js";
export { decodeXtext, encodeXtext, isAddressLiteral, isSmtpDomain, type PathParse, parsePath, type SmtpPath } from "./path.js";
export {
  describeEnhanced,
  ENHANCED_CODES,
  formatReply,
  isEnhancedCode,
  parseReply,
  type Reply,
  type ReplyParse,
  ReplyParser,
} from "./reply.js";
export { type Credentials, decodeBase64Response, decodePlain } from "./sasl.js";
export {
  SessionCallbackError,
  type SessionEvent,
  type SessionOptions,
  type SessionOutput,
  SessionStateError,
  type SmtpMode,
  SmtpSession,
} from "./session.js";
