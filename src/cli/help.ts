/** The help texts: `msgauth --help` and `msgauth <command> --help`. */

export const EXIT_CODES = `exit codes:
  0  pass, or the command did its job
  1  authentication failed (per command: see docs/cli.md)
  2  usage error (one line on stderr says what is wrong)
  3  temporary error (DNS)
  4  unreadable input (a file, key or message that could not be read, or a truncated mbox)`;

export const COMMAND_HELP: Record<string, string> = {
  check: `usage: msgauth check <file.eml|folder|mbox|->... --ip <addr> [options]

Authenticates messages (SPF, DKIM, ARC, DMARC) and prints the results and the
Authentication-Results field of each. Folders: every regular *.eml file in them (not recursing);
mbox files (starting with "From ") are read one message at a time; - is standard input.
What is not a regular file (FIFO, device, folder named *.eml) is skipped with a warning.

  --ip <addr>                the SMTP client's IP address (required)
  --helo <name>              the HELO/EHLO name
  --mail-from <addr>         the SMTP MAIL FROM address (empty: null sender)
  --authserv-id <id>         the authserv-id of the Authentication-Results field (msgauth.invalid)
  --zone <file>              answer DNS from a fixture zone instead of live DNS (repeatable)
  --dmarc-mode <mode>        rfc9989 (default) or rfc7489
  --max-message-size <n>     skip messages larger than n bytes (suffix K, M or G; default 64M)
  --json                     one JSON object per message, one per line

exit: the worst over all messages: 1 if DMARC is fail or permerror, 3 if DMARC is temperror,
4 if an input could not be read; 0 otherwise (DMARC pass or none).`,
  sign: `usage: msgauth sign <file|-> --domain <d> --selector <s> --key <pem> [options]

DKIM-signs a message; writes it, with its DKIM-Signature fields on top, byte for byte.

  --domain <d>               the signing domain (d=)
  --selector <s>             the selector (s=); give --selector and --key once per signature
  --key <file>               the private key (PEM or DER)
  --canonicalization <c/c>   relaxed/relaxed (default), simple/simple, relaxed/simple, simple/relaxed
  --body-length              add l= (the body length signed)
  --out <file>               write the signed message to a file instead of standard output
  --max-message-size <n>     refuse messages larger than n bytes (suffix K, M or G; default 64M)`,
  seal: `usage: msgauth seal <file|-> --domain <d> --selector <s> --key <pem> --authserv-id <id> [options]

Validates the ARC chain and adds this hop's ARC set; writes the sealed message byte for byte.
With --ip, the message is first authenticated and the result goes in the ARC-Authentication-Results.

  --domain <d>  --selector <s>  --key <file>  --authserv-id <id>     (required)
  --ip <addr>  --helo <name>  --mail-from <addr>                     (the SMTP session, optional)
  --zone <file>              answer DNS from a fixture zone (repeatable)
  --out <file>               write the sealed message to a file instead of standard output
  --max-message-size <n>     refuse messages larger than n bytes (suffix K, M or G; default 64M)

exit: 1 when the message is not sealed (the reason on stderr; the message is written unchanged).`,
  spf: `usage: msgauth spf <ip> <mail-from> [--helo <name>] [--zone <file>]... [--json]

Checks SPF for a client IP and MAIL FROM address; prints the result and a Received-SPF field.

exit: 1 for fail, softfail or permerror; 3 for temperror; 0 otherwise.`,
  dmarc: `usage: msgauth dmarc <domain> [--zone <file>]... [--dmarc-mode rfc9989|rfc7489] [--json]

Finds the DMARC record that applies to a domain and shows the policy for it.

exit: 1 when no DMARC record applies; 3 for temperror; 0 otherwise.`,
  keygen: `usage: msgauth keygen [--type rsa|ed25519] [--bits 2048] [--selector <s>] [--domain <d>] [--out <file>]

Makes a DKIM key: prints (or writes, mode 600, with --out) the PKCS#8 PEM private key, then the TXT
record to publish. RSA keys are 1024 to 8192 bits (2048 recommended).`,
  record: `usage: msgauth record --out <zone.yaml|zone.json|zone> [--zone <file>]... -- <check|spf|dmarc|seal> ...

Runs another command through a recording resolver (live DNS, or the --zone files given before --)
and saves every answer, NXDOMAIN and NODATA included, as a fixture zone that replays the same
answers with --zone. Options of record go before --; --zone after -- is refused.

exit: the exit code of the command it ran.`,
};

export const USAGE = `usage: msgauth <command> [options]   (msgauth <command> --help for its options)

  check <file.eml|folder|mbox|->...  authenticate messages (SPF, DKIM, ARC, DMARC)
      --ip <addr> [--helo <name>] [--mail-from <addr>] [--authserv-id <id>] [--zone <file>]...
      [--json] [--dmarc-mode rfc9989|rfc7489] [--max-message-size <n>]
  sign <file|->                      DKIM-sign; writes the signed message
      --domain <d> (--selector <s> --key <pem>)... [--canonicalization c/c] [--body-length] [--out <file>]
  seal <file|->                      add an ARC set; writes the sealed message
      --domain <d> --selector <s> --key <pem> --authserv-id <id> [--ip --helo --mail-from]
      [--zone <file>]... [--out <file>]
  spf <ip> <mail-from> [--helo <name>] [--zone <file>]... [--json]
  dmarc <domain> [--zone <file>]... [--dmarc-mode rfc9989|rfc7489] [--json]
  keygen [--type rsa|ed25519] [--bits 2048] [--selector <s>] [--domain <d>] [--out <file>]
  record --out <zone.yaml|zone.json> [--zone <file>]... -- <check|spf|dmarc|seal ...>
                                     run a command and save every DNS answer as a fixture zone
  tlsrpt <parse|summary> <file|->... read received SMTP TLS reports (JSON, .json.gz, report email)
      [--zone <file>]... [--no-dkim]
  report <parse|summary|html|send>   DMARC aggregate reports: read received ones (XML, .xml.gz, .zip,
      report email), summarize, HTML page; send the collected periods' reports (msgauth report --help)
  --version                          print the version

${EXIT_CODES}`;
