package dev.jlight.server.cli;

import picocli.CommandLine.Command;

/** {@code jlight bench ...}: benchmarks. */
@Command(name = "bench", description = "Benchmarks.", subcommands = {BenchLatencyCommand.class, BenchThroughputCommand.class, dev.jlight.server.bench.BenchServeCommand.class})
final class BenchCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }
}
