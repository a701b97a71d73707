package dev.jlight.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A streaming request on a raw socket, so that a test can read some events and then drop the
 * connection the way a crashed client does (RST, no goodbye). Decodes chunked transfer encoding.
 */
final class RawStream implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final int status;
    private final boolean chunked;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private boolean eof;

    private RawStream(Socket socket, InputStream in, int status, boolean chunked) {
        this.socket = socket;
        this.in = in;
        this.status = status;
        this.chunked = chunked;
    }

    static RawStream post(int port, String path, String body, String key) throws IOException {
        Socket s = send(port, path, body, key);
        InputStream in = s.getInputStream();
        String statusLine = line(in);
        int status = Integer.parseInt(statusLine.split(" ")[1]);
        boolean chunked = false;
        for (String h = line(in); !h.isEmpty(); h = line(in)) {
            if (h.toLowerCase(Locale.ROOT).startsWith("transfer-encoding:") && h.toLowerCase(Locale.ROOT).contains("chunked")) {
                chunked = true;
            }
        }
        return new RawStream(s, in, status, chunked);
    }

    /** Connects and sends a POST without waiting for any of the answer (a non-streamed request's client). */
    static Socket send(int port, String path, String body, String key) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        s.setSoTimeout(60_000);
        write(s, path, body, key);
        return s;
    }

    /** Writes one POST on an open connection (a first request, or the next one on a kept-alive connection). */
    static void write(Socket s, String path, String body, String key) throws IOException {
        int port = s.getPort();
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        String head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nContent-Type: application/json\r\n"
                + (key == null ? "" : "Authorization: Bearer " + key + "\r\n") + "Content-Length: " + b.length + "\r\n\r\n";
        OutputStream out = s.getOutputStream();
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.write(b);
        out.flush();
    }

    int status() {
        return status;
    }

    /** The next event's data payload, or null at the end of the body. */
    String nextEvent() throws IOException {
        while (true) {
            String buf = pending.toString(StandardCharsets.UTF_8);
            int end = buf.indexOf("\n\n");
            if (end >= 0) {
                String event = buf.substring(0, end);
                byte[] rest = buf.substring(end + 2).getBytes(StandardCharsets.UTF_8);
                pending.reset();
                pending.write(rest);
                if (!event.startsWith("data: ")) {
                    throw new IOException("not an SSE data event: " + event);
                }
                return event.substring(6);
            }
            if (eof || !readMore()) {
                eof = true;
                return null;
            }
        }
    }

    /** Reads all remaining events; returns the last data payload before [DONE] and checks [DONE] came. */
    java.util.List<String> readAll() throws IOException {
        java.util.List<String> out = new java.util.ArrayList<>();
        for (String e = nextEvent(); e != null; e = nextEvent()) {
            out.add(e);
            if (e.equals("[DONE]")) {
                break;
            }
        }
        return out;
    }

    private boolean readMore() throws IOException {
        if (!chunked) {
            byte[] b = new byte[4096];
            int n = in.read(b);
            if (n < 0) {
                return false;
            }
            pending.write(b, 0, n);
            return true;
        }
        String sizeLine = line(in);
        if (sizeLine == null) {
            return false;
        }
        int size = Integer.parseInt(sizeLine.split(";")[0].trim(), 16);
        if (size == 0) {
            return false;
        }
        pending.write(in.readNBytes(size));
        line(in);
        return true;
    }

    static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                int len = sb.length();
                return len > 0 && sb.charAt(len - 1) == '\r' ? sb.substring(0, len - 1) : sb.toString();
            }
            sb.append((char) c);
        }
        return sb.isEmpty() ? null : sb.toString();
    }

    /** Drops the connection with a reset, as a killed client does. */
    void abort() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
