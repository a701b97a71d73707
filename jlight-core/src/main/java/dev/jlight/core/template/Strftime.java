package dev.jlight.core.template;

import java.time.DayOfWeek;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;

/** Python's {@code datetime.strftime} in the C locale (glibc), for {@code strftime_now}. */
final class Strftime {
    private Strftime() {}

    private static final String[] DAYS = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
    private static final String[] MONTHS = {"January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December"};

    static String format(ZonedDateTime t, String fmt) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c != '%' || i + 1 >= fmt.length()) {
                sb.append(c);
                continue;
            }
            char d = fmt.charAt(++i);
            // glibc flags: '-' no padding, '_' space padding, '0' zero padding
            char flag = 0;
            if ((d == '-' || d == '_' || d == '0' || d == '^' || d == '#') && i + 1 < fmt.length()) {
                flag = d;
                d = fmt.charAt(++i);
            }
            String s = conv(t, d);
            if (s == null) {
                sb.append('%');
                if (flag != 0) {
                    sb.append(flag);
                }
                sb.append(d);
                continue;
            }
            if (flag == '-' && isNumeric(d)) {
                s = stripPadding(s);
            } else if (flag == '_' && isNumeric(d)) {
                String stripped = stripPadding(s);
                s = " ".repeat(s.length() - stripped.length()) + stripped;
            } else if (flag == '^') {
                s = s.toUpperCase(java.util.Locale.ROOT);
            }
            sb.append(s);
        }
        return sb.toString();
    }

    private static boolean isNumeric(char d) {
        return "dmHIMSjyYUWVuwGgeklCf".indexOf(d) >= 0;
    }

    private static String stripPadding(String s) {
        int k = 0;
        while (k < s.length() - 1 && (s.charAt(k) == '0' || s.charAt(k) == ' ')) {
            k++;
        }
        return s.substring(k);
    }

    private static String two(int v) {
        return v < 10 ? "0" + v : String.valueOf(v);
    }

    private static String conv(ZonedDateTime t, char d) {
        int hour12 = t.getHour() % 12 == 0 ? 12 : t.getHour() % 12;
        DayOfWeek dow = t.getDayOfWeek();
        return switch (d) {
            case 'Y' -> String.valueOf(t.getYear());
            case 'y' -> two(Math.floorMod(t.getYear(), 100));
            case 'C' -> two(t.getYear() / 100);
            case 'm' -> two(t.getMonthValue());
            case 'd' -> two(t.getDayOfMonth());
            case 'e' -> (t.getDayOfMonth() < 10 ? " " : "") + t.getDayOfMonth();
            case 'H' -> two(t.getHour());
            case 'k' -> (t.getHour() < 10 ? " " : "") + t.getHour();
            case 'I' -> two(hour12);
            case 'l' -> (hour12 < 10 ? " " : "") + hour12;
            case 'M' -> two(t.getMinute());
            case 'S' -> two(t.getSecond());
            case 'f' -> String.format("%06d", t.getNano() / 1000);
            case 'p' -> t.getHour() < 12 ? "AM" : "PM";
            case 'P' -> t.getHour() < 12 ? "am" : "pm";
            case 'A' -> DAYS[dow.getValue() - 1];
            case 'a' -> DAYS[dow.getValue() - 1].substring(0, 3);
            case 'B' -> MONTHS[t.getMonthValue() - 1];
            case 'b', 'h' -> MONTHS[t.getMonthValue() - 1].substring(0, 3);
            case 'j' -> String.format("%03d", t.getDayOfYear());
            case 'w' -> String.valueOf(dow.getValue() % 7);
            case 'u' -> String.valueOf(dow.getValue());
            case 'U' -> two((t.getDayOfYear() + 6 - (dow.getValue() % 7)) / 7);
            case 'W' -> two((t.getDayOfYear() + 6 - (dow.getValue() - 1)) / 7);
            case 'V' -> two(t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR));
            case 'G' -> String.valueOf(t.get(IsoFields.WEEK_BASED_YEAR));
            case 'g' -> two(Math.floorMod(t.get(IsoFields.WEEK_BASED_YEAR), 100));
            case 'D' -> conv(t, 'm') + "/" + conv(t, 'd') + "/" + conv(t, 'y');
            case 'F' -> conv(t, 'Y') + "-" + conv(t, 'm') + "-" + conv(t, 'd');
            case 'T' -> conv(t, 'H') + ":" + conv(t, 'M') + ":" + conv(t, 'S');
            case 'R' -> conv(t, 'H') + ":" + conv(t, 'M');
            case 'r' -> conv(t, 'I') + ":" + conv(t, 'M') + ":" + conv(t, 'S') + " " + conv(t, 'p');
            case 'c' -> conv(t, 'a') + " " + conv(t, 'b') + " " + conv(t, 'e') + " " + conv(t, 'T') + " " + conv(t, 'Y');
            case 'x' -> conv(t, 'D');
            case 'X' -> conv(t, 'T');
            case 's' -> String.valueOf(t.toEpochSecond());
            case 'n' -> "\n";
            case 't' -> "\t";
            case '%' -> "%";
            // datetime.now() is naive: %z and %Z print nothing
            case 'z', 'Z' -> "";
            default -> null;
        };
    }
}
