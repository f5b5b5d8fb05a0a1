export { checkDnsbl, checkDomainBl, type DnsblListing, type DnsblResult, dnsblLabel } from "./check.js";
