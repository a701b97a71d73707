package dev.jlight.server.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code jlight} command. Subcommands: generate, chat, serve. */
@Command(name = "jlight", mixinStandardHelpOptions = true, version = "JLight 0.1.0",
        description = "Java LLM inference and serving engine.",
        subcommands = {CommandLine.HelpCommand.class})
public final class JLightCli implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new JLightCli()).execute(args));
    }
}
