import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.core.backend.*;
import dev.jlight.core.model.*;
import dev.jlight.core.weights.*;
import dev.jlight.cuda.*;
import java.lang.foreign.*;
/**
 * Drives CudaBackend end to end against fake_cuda.c (host memory, memcpy copies, logged launches,
 * a cuBLASLt that checks the matmul's layouts): catches Java-side mistakes (marshalling, arena,
 * staging, metadata, the whole Llama forward path) on a machine without a GPU. The kernels do
 * not run, so only the copies' results are checked. See run-fake-smoke.sh.
 */
public class FakeDriverSmoke { public static void main(String[] a) throws Throwable {
  System.out.println("probe: " + CudaBackend.probe());
  try (CudaBackend gpu = new CudaBackend(CudaBackend.Options.defaults().withArenaBytes(1L << 30))) {
    System.out.println(gpu.describe());
    // round trip
    float[] f = new float[1000]; for (int i = 0; i < f.length; i++) f[i] = i * 0.5f;
    Tensor t = gpu.allocate(DType.F32, 10, 100); gpu.upload(t, MemorySegment.ofArray(f));
    float[] back = new float[1000]; gpu.download(t, MemorySegment.ofArray(back));
    if (!java.util.Arrays.equals(f, back)) throw new AssertionError("round trip");
    float[] row = new float[100]; gpu.download(gpu.sliceRows(t, 3, 4), MemorySegment.ofArray(row));
    if (row[0] != 150f || row[99] != 199.5f) throw new AssertionError("row slice " + row[0]);
    // concatRows data
    var w1 = new WeightTensor("a", DType.BF16, new long[]{2, 4}, Arena.ofAuto().allocateFrom(ValueLayout.JAVA_SHORT, new short[]{1,2,3,4,5,6,7,8}), null);
    var w2 = new WeightTensor("b", DType.BF16, new long[]{1, 4}, Arena.ofAuto().allocateFrom(ValueLayout.JAVA_SHORT, new short[]{9,10,11,12}), null);
    Tensor p1 = gpu.weight(w1), p2 = gpu.weight(w2);
    Tensor cat = gpu.concatRows(p1, p2);
    short[] cs = new short[12]; gpu.download(cat, MemorySegment.ofArray(cs));
    if (cs[0] != 1 || cs[11] != 12 || cat.rows() != 3) throw new AssertionError("concat " + java.util.Arrays.toString(cs));
    try { gpu.download(p1, MemorySegment.ofArray(new short[8])); throw new AssertionError("used a released part"); } catch (dev.jlight.core.JLightException e) { System.out.println("released part: " + e.getMessage()); }
    // too-big weight message
    try { gpu.allocateKvCache(new KvCacheSpec(32, 100000, 16, 8, 128, DType.BF16)); throw new AssertionError(); } catch (dev.jlight.core.JLightException e) { System.out.println("kv: " + e.getMessage()); }
    // model forward with dummy weights (kernels do not run)
    String cfg = new String(java.nio.file.Files.readAllBytes(java.nio.file.Path.of(a[0])));
    var config = dev.jlight.core.config.ModelConfig.parse(java.nio.file.Path.of("config.json"), new ObjectMapper().readTree(cfg));
    for (DType wt : new DType[]{DType.BF16, DType.F32}) {
      try (Model m = ModelLoader.load(config, new DummyWeights(wt, 1), gpu, LoadProgress.NONE)) {
        StaticBatch b = new StaticBatch(3, 64, 16);
        try (KvCache kv = gpu.allocateKvCache(m.kvCacheSpec(b.blocksNeeded(), 16))) {
          int[][] toks = {{1,2,3,4,5}, {6}, {7,8}};
          for (int s = 0; s < 3; s++) { float[] l = m.forward(b.next(toks), kv); toks = new int[][]{{1},{2},{3}}; System.out.println(wt + " step " + s + ": " + l.length + " logits"); }
        }
      }
    }
    // decode steps through the CUDA graph runner: warm-up, capture, replays (launches not run)
    try (Model m = ModelLoader.load(config, new DummyWeights(DType.BF16, 1), gpu, LoadProgress.NONE)) {
      StaticBatch b = new StaticBatch(3, 64, 16);
      try (KvCache kv = gpu.allocateKvCache(m.kvCacheSpec(b.blocksNeeded(), 16));
           CudaGraphRunner runner = new CudaGraphRunner(m, kv, 64)) {
        int[][] toks = {{1,2,3,4,5}, {6}, {7,8}};
        for (int s = 0; s < 8; s++) {
          float[] l = runner.forward(b.next(toks), kv);
          if (l.length != 3 * config.vocabSize()) throw new AssertionError("runner logits " + l.length);
          toks = new int[][]{{1},{2},{3}};
        }
        var st = runner.stats();
        System.out.println("graph runner: " + st);
        if (st.warmups() != 1 || st.captures() != 1 || st.replays() != 5 || st.fallbacks() != 0) throw new AssertionError(st.toString());
      }
    }
    // overlapped steps (launchSampled, decode ids taken on the device from the previous step's
    // picks) through the graph runner: their own warm-up, capture and replays; ids come back
    // through Readbacks (pinned slot + event), two steps in flight
    try (Model m = ModelLoader.load(config, new DummyWeights(DType.BF16, 1), gpu, LoadProgress.NONE)) {
      if (!m.launchesAsync()) throw new AssertionError("a cuda Llama launches asynchronously");
      StaticBatch b = new StaticBatch(3, 64, 16);
      try (KvCache kv = gpu.allocateKvCache(m.kvCacheSpec(b.blocksNeeded(), 16));
           CudaGraphRunner runner = new CudaGraphRunner(m, kv, 64)) {
        int[] first = runner.forwardSampled(b.next(new int[][]{{1,2,3,4,5}, {6}, {7,8}}), kv, DeviceSampling.greedy(3));
        if (first.length != 3) throw new AssertionError("prefill ids " + first.length);
        PendingIds inFlight = null;
        for (int s = 0; s < 8; s++) {
          ForwardBatch fb = b.next(new int[][]{{0}, {0}, {0}});
          fb = new ForwardBatch(fb.tokenIds(), fb.positions(), fb.attention(), fb.logitRows(), new int[]{0, 1, 2});
          PendingIds p = runner.launchSampled(fb, kv, DeviceSampling.greedy(3));
          if (inFlight != null && inFlight.await().length != 3) throw new AssertionError("launched ids");
          inFlight = p;
        }
        if (inFlight.await().length != 3) throw new AssertionError("last launched ids");
        var st = runner.stats();
        System.out.println("graph runner, overlapped steps: " + st);
        if (st.eagerSteps() != 1 || st.warmups() != 1 || st.captures() != 1 || st.replays() != 6 || st.fallbacks() != 0)
          throw new AssertionError(st.toString());
      }
    }
    // the decode kernels went through cuLaunchKernelEx with the programmatic attribute (sm_90 fake)
    try (Arena ar = Arena.ofConfined()) {
      var counts = Linker.nativeLinker().downcallHandle(SymbolLookup.libraryLookup("libcuda.so.1", ar).find("fake_launch_counts").orElseThrow(),
          FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
      MemorySegment all = ar.allocate(4), pdl = ar.allocate(4);
      counts.invoke(all, pdl);
      System.out.println("launches " + all.get(ValueLayout.JAVA_INT, 0) + ", programmatic " + pdl.get(ValueLayout.JAVA_INT, 0) + ", pdl on: " + gpu.programmaticLaunch());
      if (!gpu.programmaticLaunch() || pdl.get(ValueLayout.JAVA_INT, 0) == 0 || pdl.get(ValueLayout.JAVA_INT, 0) >= all.get(ValueLayout.JAVA_INT, 0))
        throw new AssertionError("expected some but not all launches programmatic");
    }
    gpu.setGemvMode(CudaBackend.GemvMode.AUTO);
    System.out.println("gemv decisions: " + gpu.gemvDecisions());
    // a decode-sized cuBLASLt product: its candidates are timed once, at first use
    Tensor xw = gpu.allocate(DType.BF16, 16, 64), ww = gpu.allocate(DType.BF16, 32, 64), ow = gpu.allocate(DType.BF16, 16, 32);
    gpu.matmul(ow, xw, ww); gpu.matmul(ow, xw, ww);
    System.out.println("matmul tunings: " + gpu.matmulTunings());
    if (gpu.matmulTunings().size() != 1) throw new AssertionError("expected one timed product: " + gpu.matmulTunings());
    double[] ms = gpu.timeMs(() -> gpu.scale(t, 2f), 2, 5);
    System.out.println("timeMs " + java.util.Arrays.toString(ms));
      System.out.println(gpu.arena().summary());
  }
  System.out.println("fake driver smoke: OK");
}}
