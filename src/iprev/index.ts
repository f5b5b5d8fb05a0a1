export { checkIprev, type IprevResult } from "./check.js";
