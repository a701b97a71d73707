package dev.jlight.server.cli;

import dev.jlight.core.JLightException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Entry point of the {@code jlight} command. */
@Command(name = "jlight", mixinStandardHelpOptions = true, version = "JLight 0.1.0",
        description = "Java LLM inference and serving engine.",
        subcommands = {ServeCommand.class, GenerateCommand.class, ChatCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class})
public final class JLightCli implements Runnable {

    @Option(names = "--debug", scope = CommandLine.ScopeType.INHERIT,
            description = "Print stack traces of errors.")
    boolean debug;

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the CLI; user errors (JLightException, bad flags) exit 2 with a one-line message. */
    public static int execute(String... args) {
        boolean debug = java.util.Arrays.asList(args).contains("--debug");
        CommandLine cli = new CommandLine(new JLightCli());
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            Throwable cause = ex;
            while (!(cause instanceof JLightException) && cause.getCause() != null) {
                cause = cause.getCause();
            }
            if (cause instanceof JLightException) {
                cmd.getErr().println("jlight: error: " + cause.getMessage());
                if (debug) {
                    ex.printStackTrace(cmd.getErr());
                }
                return 2;
            }
            cmd.getErr().println("jlight: internal error: " + ex);
            if (debug) {
                ex.printStackTrace(cmd.getErr());
            } else {
                cmd.getErr().println("(run with --debug for the stack trace)");
            }
            return 1;
        });
        return cli.execute(args);
    }
}
