// Draws the TTFT/TPOT-vs-QPS sweep plot of `jlight bench serve` from the per-rate JSON files a
// run saved, with the same code the bench uses (SweepPlot). For runs whose machine could not draw
// (the device's trimmed Java runtime has no java.desktop), so the plot is made here from the run's
// own results:
//   java -cp "jlight-server/target/classes:$(cat jlight-server/target/classpath.txt)" \
//        scripts/plot_sweep.java OUT.png "title" RESULT.json...
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.server.bench.SweepPlot;
import dev.jlight.server.bench.SweepPoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

public class plot_sweep {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: plot_sweep OUT.png TITLE RESULT.json...");
            System.exit(2);
        }
        ObjectMapper json = new ObjectMapper();
        List<SweepPoint> points = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            JsonNode r = json.readTree(Path.of(args[i]).toFile());
            double rate = r.path("request_rate").isNumber() ? r.get("request_rate").asDouble() : Double.POSITIVE_INFINITY;
            points.add(new SweepPoint(rate, r.get("request_throughput").asDouble(), r.get("mean_ttft_ms").asDouble(),
                    r.get("p95_ttft_ms").asDouble(), r.get("mean_tpot_ms").asDouble(), r.get("p95_tpot_ms").asDouble(),
                    r.get("output_throughput").asDouble(), r.get("completed").asInt(), r.get("failed").asInt()));
        }
        SweepPlot.write(Path.of(args[0]), args[1], points);
        System.out.println("wrote " + args[0] + " from " + points.size() + " result files");
    }
}
