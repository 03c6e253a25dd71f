// The entry point of the `strata` command. Everything it does is in
// StrataCommand (Strata.swift): parse the arguments, run the subcommand, and
// turn any error into a message and an exit status in one place
// (ErrorReporting.swift).
await StrataCommand.runAndExit()
