package dev.jlight.server.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/** Empirical CDFs of latency samples (seconds) on a log-ms axis, drawn headless to a PNG. */
public final class CdfPlot {
    private static final Color[] COLORS = {new Color(31, 119, 180), new Color(255, 127, 14), new Color(44, 160, 44),
            new Color(214, 39, 40), new Color(148, 103, 189)};

    private CdfPlot() {
    }

    public static void write(Path png, String title, List<String> names, List<List<Double>> seriesSeconds)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        int w = 900;
        int h = 560;
        int l = 80;
        int r = 30;
        int t = 80;
        int b = 70;
        double lo = Double.POSITIVE_INFINITY;
        double hi = 0;
        for (List<Double> s : seriesSeconds) {
            for (double v : s) {
                double ms = v * 1e3;
                if (ms > 0) {
                    lo = Math.min(lo, ms);
                    hi = Math.max(hi, ms);
                }
            }
        }
        if (!(hi > 0)) {
            lo = 0.1;
            hi = 1;
        }
        double xlo = Math.pow(10, Math.floor(Math.log10(lo)));
        double xhi = Math.pow(10, Math.ceil(Math.log10(hi)));
        if (xhi <= xlo) {
            xhi = xlo * 10;
        }
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        int pw = w - l - r;
        int ph = h - t - b;
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        double lxlo = Math.log10(xlo);
        double span = Math.log10(xhi) - lxlo;
        for (double d = xlo; d <= xhi * 1.0001; d *= 10) {
            int x = l + (int) Math.round((Math.log10(d) - lxlo) / span * pw);
            g.setColor(new Color(225, 225, 225));
            g.drawLine(x, t, x, t + ph);
            g.setColor(Color.DARK_GRAY);
            String label = new java.math.BigDecimal(String.format(Locale.ROOT, "%.6g", d)).stripTrailingZeros().toPlainString();
            g.drawString(label, x - g.getFontMetrics().stringWidth(label) / 2, t + ph + 18);
        }
        for (int k = 0; k <= 10; k += 2) {
            int y = t + ph - k * ph / 10;
            g.setColor(new Color(225, 225, 225));
            g.drawLine(l, y, l + pw, y);
            g.setColor(Color.DARK_GRAY);
            String label = String.format(Locale.ROOT, "%.1f", k / 10.0);
            g.drawString(label, l - 8 - g.getFontMetrics().stringWidth(label), y + 4);
        }
        g.setColor(Color.BLACK);
        g.drawRect(l, t, pw, ph);
        g.drawString("latency (ms, log scale)", l + pw / 2 - 60, h - 25);
        g.drawString("fraction of samples", 10, t - 8);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(title, l, 30);
        g.setStroke(new BasicStroke(2f));
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (int i = 0; i < seriesSeconds.size(); i++) {
            double[] s = seriesSeconds.get(i).stream().mapToDouble(v -> Math.max(v * 1e3, xlo)).sorted().toArray();
            g.setColor(COLORS[i % COLORS.length]);
            int px = l;
            int py = t + ph;
            for (int j = 0; j < s.length; j++) {
                int x = l + (int) Math.round((Math.log10(s[j]) - lxlo) / span * pw);
                int y = t + ph - (int) Math.round((j + 1.0) / s.length * ph);
                if (j > 0) {
                    g.drawLine(px, py, x, py);
                    g.drawLine(x, py, x, y);
                } else {
                    g.drawLine(x, t + ph, x, y);
                }
                px = x;
                py = y;
            }
            int lx = l + i * 170;     // legend in a row above the plot, clear of the curves
            g.fillRect(lx, 47, 20, 4);
            g.drawString(names.get(i) + " (n=" + s.length + ")", lx + 25, 53);
        }
        g.dispose();
        ImageIO.write(img, "png", png.toFile());
    }
}
