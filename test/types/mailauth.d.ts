// mailauth is the interop oracle and benchmark peer, used from tests and bench/ only. Its deep
// modules ship no types; we call them as plain JavaScript.
declare module "mailauth/lib/*";
declare module "mailauth";
declare module "mailauth7/lib/*";
declare module "mailauth7";
