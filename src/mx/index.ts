export { checkSenderNullMx, type NextHop, type NextHopHost, type NextHopOptions, resolveNextHop } from "./next-hop.js";
