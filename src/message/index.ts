export { type AddressListResult, asciiDomain, type Mailbox, parseAddressList } from "./address.js";
export { decodeEncodedWords } from "./encoded-word.js";
export { commentText, foldField, quoteIfNeeded, stripControls } from "./fold.js";
export { type AuthorResult, type HeaderReadInfo, parseAuthor } from "./from.js";
export { fieldText, fieldValue, getField, getFields, type HeaderField, makeField, unfold } from "./header.js";
export { isMessageInput, type MessageInput, type OpenedMessage, openMessage, toBytes } from "./input.js";
export {
  envelopeFromMessage,
  envelopeFromReceived,
  type ParsedReceived,
  parseReceived,
  type ReceivedEnvelope,
  type ReceivedTrustOptions,
} from "./received.js";
export { findHeaderEnd, type ParsedHeaders, type ParsedMessage, parseHeaderBlock, type SplitLimits, splitMessage } from "./split.js";
