// The npm "punycode" package (not Node's deprecated built-in), imported by file path so that Node
// never resolves it to the core module.
declare module "punycode/punycode.js" {
  const punycode: {
    toASCII(domain: string): string;
    toUnicode(domain: string): string;
    /** Decodes one label's Punycode (without the ACE prefix); throws on invalid input. */
    decode(input: string): string;
  };
  export default punycode;
}
