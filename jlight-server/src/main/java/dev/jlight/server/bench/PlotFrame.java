package dev.jlight.server.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * A headless PNG chart frame shared by the benchmark plots: title, framed plot area with grid
 * and tick labels on linear or log axes, a legend row above the plot, and series drawn in data
 * coordinates. AWT only, so no plotting library is needed.
 */
final class PlotFrame {
    static final Color[] COLORS = {new Color(31, 119, 180), new Color(255, 127, 14), new Color(44, 160, 44),
            new Color(214, 39, 40), new Color(148, 103, 189)};
    static final Stroke SOLID = new BasicStroke(2f);
    static final Stroke DASHED = new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
            new float[]{8f, 5f}, 0f);
    private static final int W = 900;
    private static final int H = 560;
    private static final int L = 80;
    private static final int R = 30;
    private static final int T = 80;
    private static final int B = 70;
    private static final int PW = W - L - R;
    private static final int PH = H - T - B;

    /** A data range mapped onto [0, 1], linearly or on log10. */
    record Axis(double lo, double hi, boolean log) {
        Axis {
            if (!(hi > lo) || (log && !(lo > 0))) {
                throw new IllegalArgumentException("bad axis range [" + lo + ", " + hi + "]" + (log ? " (log)" : ""));
            }
        }

        /** Log axis over whole decades covering the positive values in [min, max]. */
        static Axis logDecades(double min, double max) {
            if (!(max > 0) || !(min > 0)) {
                return new Axis(0.1, 1, true);
            }
            double lo = Math.pow(10, Math.floor(Math.log10(min)));
            double hi = Math.pow(10, Math.ceil(Math.log10(max)));
            return new Axis(lo, hi > lo ? hi : lo * 10, true);
        }

        /** Linear axis from 0 to a round number above max. */
        static Axis linearFromZero(double max) {
            double step = niceStep(max > 0 ? max : 1);
            return new Axis(0, Math.ceil(max / step + 1e-9) * step + (max > 0 ? 0 : step), false);
        }

        double frac(double v) {
            return log ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo);
        }

        double clamp(double v) {
            return Math.max(lo, Math.min(hi, v));
        }

        List<Double> ticks() {
            List<Double> out = new ArrayList<>();
            if (log) {
                for (double d = lo; d <= hi * 1.0001; d *= 10) {
                    out.add(d);
                }
            } else {
                double step = niceStep(hi - lo);
                for (double d = lo; d <= hi + step * 1e-6; d += step) {
                    out.add(d);
                }
            }
            return out;
        }

        /** 1, 2 or 5 times a power of ten, giving at most about 6 intervals. */
        static double niceStep(double range) {
            double p = Math.pow(10, Math.floor(Math.log10(range / 6)));
            for (double m : new double[]{1, 2, 5, 10}) {
                if (range / (m * p) <= 6) {
                    return m * p;
                }
            }
            return 10 * p;
        }
    }

    private final BufferedImage img;
    private final Graphics2D g;
    private final Axis x;
    private final Axis y;
    private int legendItems;

    PlotFrame(String title, Axis x, String xLabel, Axis y, String yLabel) {
        System.setProperty("java.awt.headless", "true");
        this.x = x;
        this.y = y;
        img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (double d : x.ticks()) {
            int px = px(d);
            g.setColor(new Color(225, 225, 225));
            g.drawLine(px, T, px, T + PH);
            g.setColor(Color.DARK_GRAY);
            String label = label(d);
            g.drawString(label, px - g.getFontMetrics().stringWidth(label) / 2, T + PH + 18);
        }
        for (double d : y.ticks()) {
            int py = py(d);
            g.setColor(new Color(225, 225, 225));
            g.drawLine(L, py, L + PW, py);
            g.setColor(Color.DARK_GRAY);
            String label = label(d);
            g.drawString(label, L - 8 - g.getFontMetrics().stringWidth(label), py + 4);
        }
        g.setColor(Color.BLACK);
        g.drawRect(L, T, PW, PH);
        g.drawString(xLabel, L + PW / 2 - g.getFontMetrics().stringWidth(xLabel) / 2, H - 25);
        g.drawString(yLabel, 10, T - 8);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(title, L, 30);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    }

    static String label(double d) {
        return new BigDecimal(String.format(Locale.ROOT, "%.6g", d)).stripTrailingZeros().toPlainString();
    }

    int px(double v) {
        return L + (int) Math.round(x.frac(x.clamp(v)) * PW);
    }

    int py(double v) {
        return T + PH - (int) Math.round(y.frac(y.clamp(v)) * PH);
    }

    /** A polyline through the points (clamped into the axes), with a dot on each when {@code marks}. */
    void line(double[] xs, double[] ys, Color c, Stroke stroke, boolean marks) {
        g.setColor(c);
        g.setStroke(stroke);
        for (int i = 0; i < xs.length; i++) {
            if (i > 0) {
                g.drawLine(px(xs[i - 1]), py(ys[i - 1]), px(xs[i]), py(ys[i]));
            }
            if (marks) {
                g.fillOval(px(xs[i]) - 4, py(ys[i]) - 4, 8, 8);
            }
        }
    }

    /** The empirical CDF of the samples as a step curve; y is the fraction at or below x. */
    void steps(double[] sorted, Color c) {
        g.setColor(c);
        g.setStroke(SOLID);
        int prevX = 0;
        int prevY = py(0);
        for (int j = 0; j < sorted.length; j++) {
            int sx = px(sorted[j]);
            int sy = py((j + 1.0) / sorted.length);
            if (j > 0) {
                g.drawLine(prevX, prevY, sx, prevY);
            }
            g.drawLine(sx, j > 0 ? prevY : py(0), sx, sy);
            prevX = sx;
            prevY = sy;
        }
    }

    /** The next legend entry, in a row above the plot so it never covers a curve. */
    void legend(String name, Color c, Stroke stroke) {
        int lx = L + legendItems++ * 200;
        g.setColor(c);
        g.setStroke(stroke);
        g.drawLine(lx, 49, lx + 22, 49);
        g.drawString(name, lx + 28, 53);
    }

    void save(Path png) throws IOException {
        g.dispose();
        ImageIO.write(img, "png", png.toFile());
    }
}
