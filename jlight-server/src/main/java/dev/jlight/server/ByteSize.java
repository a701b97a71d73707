package dev.jlight.server;

import dev.jlight.core.JLightException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Byte sizes as flags write them: {@code 2147483648}, {@code 2GiB}, {@code 512MiB}, {@code 1.5G}, {@code 64KB}. */
public final class ByteSize {
    private static final Pattern SIZE = Pattern.compile("\\s*([0-9]+(?:\\.[0-9]+)?)\\s*([a-zA-Z]*)\\s*");

    private ByteSize() {
    }

    /** Parses a size; binary units for K/M/G/T with or without "i" and "B" (as vLLM's CPU KV space), SI for KB/MB/GB/TB. */
    public static long parse(String flag, String text) {
        Matcher m = text == null ? null : SIZE.matcher(text);
        if (m == null || !m.matches()) {
            throw new JLightException(flag + " '" + text + "' is not a size (e.g. 2GiB, 512MiB, 1073741824)");
        }
        double n = Double.parseDouble(m.group(1));
        long unit = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "", "b" -> 1L;
            case "k", "ki", "kib" -> 1L << 10;
            case "m", "mi", "mib" -> 1L << 20;
            case "g", "gi", "gib" -> 1L << 30;
            case "t", "ti", "tib" -> 1L << 40;
            case "kb" -> 1_000L;
            case "mb" -> 1_000_000L;
            case "gb" -> 1_000_000_000L;
            case "tb" -> 1_000_000_000_000L;
            default -> throw new JLightException(flag + " '" + text + "': unknown unit '" + m.group(2)
                    + "' (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)");
        };
        double bytes = n * unit;
        if (bytes > Long.MAX_VALUE) {
            throw new JLightException(flag + " '" + text + "' is too large");
        }
        return (long) bytes;
    }

    /** "1.50 GiB", "64.00 MiB". */
    public static String format(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
        }
        if (bytes >= 1L << 20) {
            return String.format(Locale.ROOT, "%.2f MiB", bytes / (double) (1L << 20));
        }
        return String.format(Locale.ROOT, "%.2f KiB", bytes / 1024.0);
    }
}
