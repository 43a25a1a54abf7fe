/** dsync's version, printed by `dsync --version`. */
export const VERSION = "0.1.0";
