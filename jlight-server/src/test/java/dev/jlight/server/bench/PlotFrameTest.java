package dev.jlight.server.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlotFrameTest {
    @Test
    void axesCoverTheDataWithRoundTicks() {
        PlotFrame.Axis lin = PlotFrame.Axis.linearFromZero(7.3);
        assertEquals(0, lin.lo());
        assertEquals(8, lin.hi(), 1e-9);              // step 2: 0, 2, 4, 6, 8
        assertEquals(List.of(0.0, 2.0, 4.0, 6.0, 8.0), lin.ticks());
        assertEquals(0.5, lin.frac(4), 1e-12);
        PlotFrame.Axis log = PlotFrame.Axis.logDecades(3.2, 420);
        assertEquals(1, log.lo(), 1e-12);
        assertEquals(1000, log.hi(), 1e-9);
        assertEquals(4, log.ticks().size());
        assertEquals(0.5, log.frac(Math.sqrt(1000)), 1e-12);
        assertEquals(0.2, PlotFrame.Axis.niceStep(1), 1e-12);
        assertEquals(50, PlotFrame.Axis.niceStep(240), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> new PlotFrame.Axis(0, 1, true));
    }

    @Test
    void sweepPlotDrawsEachSeriesInItsColour(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("s.png");
        SweepPlot.write(png, "t", List.of(new SweepPoint(1, 0.9, 100, 150, 10, 12, 50, 9, 0),
                new SweepPoint(Double.POSITIVE_INFINITY, 4.0, 900, 1500, 20, 30, 200, 9, 0)));
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(900, img.getWidth());
        int ttft = 0;
        int tpot = 0;
        for (int y = 60; y < img.getHeight(); y++) {      // below the legend row
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y) & 0xFFFFFF;
                ttft += rgb == (PlotFrame.COLORS[0].getRGB() & 0xFFFFFF) ? 1 : 0;
                tpot += rgb == (PlotFrame.COLORS[1].getRGB() & 0xFFFFFF) ? 1 : 0;
            }
        }
        assertTrue(ttft > 100 && tpot > 100, "ttft pixels " + ttft + ", tpot pixels " + tpot);
    }
}
