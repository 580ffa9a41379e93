package io.flowline.zeebe.exporter;

import io.camunda.zeebe.protocol.record.RecordType;
import io.camunda.zeebe.protocol.record.ValueType;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The exporter's arguments ({@code zeebe.broker.exporters.flowline.args.*}), instantiated by the
 * broker from the configured arguments. Fields are public and loosely typed (strings for
 * durations, strings or lists for the type lists) so that YAML and environment variables both
 * bind; {@link #validate()} checks them and turns them into a {@link Settings}.
 */
public class FlowlineExporterConfiguration {

  /** The value types Flowline's aggregator folds (services/aggregator/state.go). */
  public static final List<String> DEFAULT_VALUE_TYPES =
      List.of(
          "PROCESS_INSTANCE",
          "PROCESS",
          "DECISION_REQUIREMENTS",
          "DECISION",
          "FORM",
          "VARIABLE",
          "INCIDENT",
          "JOB",
          "USER_TASK",
          "DECISION_EVALUATION");

  public static final String DEFAULT_TOKEN_ENV = "FLOWLINE_INGEST_TOKEN";

  /** The longest duration argument accepted. */
  static final Duration MAX_DURATION = Duration.ofHours(24);

  /** Ingest's base URL (http://host:port) or its full /v1/records URL. Required. */
  public String url;

  /** Bearer token. Takes precedence over tokenFile and tokenEnv. */
  public String token;

  /** File holding the bearer token (read before every request, so it can rotate). */
  public String tokenFile;

  /** Name of an environment variable holding the bearer token. */
  public String tokenEnv = DEFAULT_TOKEN_ENV;

  public int maxBatchRecords = 1000;
  public long maxBatchBytes = 4L * 1024 * 1024;
  public String flushDelay = "1s";
  public boolean gzip = true;
  public String requestTimeout = "30s";

  /** First retry delay; doubled on every further failure (jittered). */
  public String retryDelay = "500ms";

  /** Cap of the retry delay. */
  public String maxRetryDelay = "30s";

  /** Record types to export: a list or a comma separated string. Default EVENT. */
  public Object recordTypes = "EVENT";

  /** Value types to export: a list or a comma separated string. Default {@link #DEFAULT_VALUE_TYPES}. */
  public Object valueTypes = String.join(",", DEFAULT_VALUE_TYPES);

  /** Validated, typed settings. */
  public record Settings(
      URI uri,
      String token,
      Path tokenFile,
      String tokenEnv,
      int maxBatchRecords,
      long maxBatchBytes,
      Duration flushDelay,
      boolean gzip,
      Duration requestTimeout,
      Duration retryDelay,
      Duration maxRetryDelay,
      Set<RecordType> recordTypes,
      Set<ValueType> valueTypes) {

    /**
     * The bearer token to send, or null for none. Throws IOException when the token file cannot be
     * read or the token is not a valid header value; the message never contains the token.
     */
    public String bearerToken() throws IOException {
      if (token != null) {
        return checkedToken(token, "token");
      }
      if (tokenFile != null) {
        final String t = Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
        if (t.isEmpty()) {
          throw new IOException("tokenFile " + tokenFile + " is empty");
        }
        return checkedToken(t, "tokenFile " + tokenFile);
      }
      if (tokenEnv != null) {
        final String v = System.getenv(tokenEnv);
        if (v != null && !v.isBlank()) {
          return checkedToken(v.strip(), "environment variable " + tokenEnv);
        }
      }
      return null;
    }

    /** Never prints the token. */
    @Override
    public String toString() {
      return "Settings[uri="
          + uri
          + ", token="
          + (token == null ? "none" : "***")
          + ", tokenFile="
          + tokenFile
          + ", tokenEnv="
          + tokenEnv
          + ", maxBatchRecords="
          + maxBatchRecords
          + ", maxBatchBytes="
          + maxBatchBytes
          + ", flushDelay="
          + flushDelay
          + ", gzip="
          + gzip
          + ", requestTimeout="
          + requestTimeout
          + ", retryDelay="
          + retryDelay
          + ", maxRetryDelay="
          + maxRetryDelay
          + ", recordTypes="
          + recordTypes
          + ", valueTypes="
          + valueTypes
          + "]";
    }
  }

  /**
   * The token when it can go in an HTTP header (visible ASCII, no spaces or control characters);
   * else an IOException naming where it came from, without the token.
   */
  static String checkedToken(final String token, final String from) throws IOException {
    for (int i = 0; i < token.length(); i++) {
      final char c = token.charAt(i);
      if (c <= 0x20 || c >= 0x7f) {
        throw new IOException(
            "the bearer token from "
                + from
                + " has a character not allowed in an HTTP header (a space, line break, control or non-ASCII character) at offset "
                + i);
      }
    }
    return token;
  }

  /** Validates the arguments; throws IllegalArgumentException naming every problem. */
  public Settings validate() {
    final List<String> problems = new ArrayList<>();
    URI uri = null;
    if (url == null || url.isBlank()) {
      problems.add("url is required: ingest's base URL (http://host:port) or its /v1/records URL");
    } else {
      try {
        uri = recordsUri(url.strip());
      } catch (IllegalArgumentException e) {
        problems.add("url " + url.replaceAll("//[^/@]*@", "//***@") + ": " + e.getMessage());
      }
    }
    final String tok = blankToNull(token) == null ? null : token.strip();
    if (tok != null) {
      try {
        checkedToken(tok, "token");
      } catch (IOException e) {
        problems.add(e.getMessage());
      }
    }
    Path file = null;
    if (tok == null && blankToNull(tokenFile) != null) {
      file = Path.of(tokenFile.strip());
      if (!Files.isReadable(file)) {
        problems.add("tokenFile " + tokenFile + " is not a readable file");
      }
    }
    if (maxBatchRecords < 1) {
      problems.add("maxBatchRecords must be at least 1, got " + maxBatchRecords);
    }
    if (maxBatchBytes < 1024) {
      problems.add("maxBatchBytes must be at least 1024, got " + maxBatchBytes);
    }
    final Duration flush = duration("flushDelay", flushDelay, problems);
    final Duration timeout = duration("requestTimeout", requestTimeout, problems);
    final Duration retry = duration("retryDelay", retryDelay, problems);
    final Duration maxRetry = duration("maxRetryDelay", maxRetryDelay, problems);
    if (retry != null && maxRetry != null && maxRetry.compareTo(retry) < 0) {
      problems.add("maxRetryDelay " + maxRetryDelay + " is shorter than retryDelay " + retryDelay);
    }
    final Set<RecordType> rts = EnumSet.noneOf(RecordType.class);
    for (final String name : names(recordTypes)) {
      try {
        final RecordType t = RecordType.valueOf(name);
        if (t == RecordType.NULL_VAL || t == RecordType.SBE_UNKNOWN) {
          throw new IllegalArgumentException(name);
        }
        rts.add(t);
      } catch (IllegalArgumentException e) {
        problems.add("recordTypes: unknown record type " + name + " (EVENT, COMMAND, COMMAND_REJECTION)");
      }
    }
    if (rts.isEmpty()) {
      problems.add("recordTypes is empty: name at least one of EVENT, COMMAND, COMMAND_REJECTION");
    }
    final Set<ValueType> vts = EnumSet.noneOf(ValueType.class);
    for (final String name : names(valueTypes)) {
      try {
        vts.add(ValueType.valueOf(name));
      } catch (IllegalArgumentException e) {
        problems.add("valueTypes: unknown value type " + name);
      }
    }
    if (vts.isEmpty()) {
      problems.add("valueTypes is empty: Flowline reads " + String.join(",", DEFAULT_VALUE_TYPES));
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(
          "invalid flowline exporter configuration (zeebe.broker.exporters.<id>.args): "
              + String.join("; ", problems));
    }
    return new Settings(
        uri,
        tok,
        file,
        file == null && tok == null ? blankToNull(tokenEnv) : null,
        maxBatchRecords,
        maxBatchBytes,
        flush,
        gzip,
        timeout,
        retry,
        maxRetry,
        rts,
        vts);
  }

  static URI recordsUri(final String url) {
    final URI u;
    try {
      u = URI.create(url);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not a URL");
    }
    if (u.getScheme() == null
        || !(u.getScheme().equalsIgnoreCase("http") || u.getScheme().equalsIgnoreCase("https"))) {
      throw new IllegalArgumentException("scheme must be http or https");
    }
    if (u.getHost() == null) {
      throw new IllegalArgumentException(
          "no host (a host name must be letters, digits, '-' and '.'; '_' is not allowed in a URL's host)");
    }
    if (u.getRawUserInfo() != null) {
      throw new IllegalArgumentException(
          "credentials in the URL are not supported (they would be logged): use token, tokenFile or tokenEnv");
    }
    if (u.getRawQuery() != null || u.getRawFragment() != null) {
      throw new IllegalArgumentException("a query or fragment is not supported");
    }
    String path = u.getPath() == null ? "" : u.getPath();
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    if (!path.endsWith("/v1/records")) {
      path = path + "/v1/records";
    }
    return u.resolve(path);
  }

  /** Parses 1s, 500ms, 2m, 1h, a plain number of milliseconds or an ISO-8601 duration (PT1S). */
  static Duration parseDuration(final String s) {
    final String v = s.strip().toLowerCase(Locale.ROOT);
    if (v.startsWith("pt") || v.startsWith("p")) {
      return Duration.parse(s.strip());
    }
    int i = 0;
    while (i < v.length() && (Character.isDigit(v.charAt(i)) || v.charAt(i) == '.')) {
      i++;
    }
    if (i == 0) {
      throw new IllegalArgumentException("not a duration");
    }
    final double n = Double.parseDouble(v.substring(0, i));
    final String unit = v.substring(i).strip();
    final double ms =
        switch (unit) {
          case "", "ms" -> n;
          case "s" -> n * 1000;
          case "m" -> n * 60_000;
          case "h" -> n * 3_600_000;
          default -> throw new IllegalArgumentException("unknown unit " + unit);
        };
    return Duration.ofNanos(Math.round(ms * 1_000_000));
  }

  private static Duration duration(final String name, final String value, final List<String> problems) {
    if (value == null || value.isBlank()) {
      problems.add(name + " is empty");
      return null;
    }
    try {
      final Duration d = parseDuration(value);
      if (d.isNegative() || d.isZero() || d.compareTo(MAX_DURATION) > 0) {
        problems.add(name + " must be positive and at most " + MAX_DURATION.toHours() + "h, got " + value);
        return null;
      }
      return d;
    } catch (RuntimeException e) {
      problems.add(name + " " + value + " is not a duration (e.g. 1s, 500ms, PT1S)");
      return null;
    }
  }

  /** A comma separated string, a collection, or a map of index to name (Spring's list binding). */
  static List<String> names(final Object value) {
    final List<String> out = new ArrayList<>();
    if (value == null) {
      return out;
    }
    final Collection<?> items;
    if (value instanceof Collection<?> c) {
      items = c;
    } else if (value instanceof Map<?, ?> m) {
      final Map<Integer, Object> sorted = new TreeMap<>();
      m.forEach((k, v) -> sorted.put(Integer.parseInt(String.valueOf(k)), v));
      items = sorted.values();
    } else {
      items = List.of(String.valueOf(value).split(","));
    }
    for (final Object o : items) {
      for (final String part : String.valueOf(o).split(",")) {
        final String n = part.strip().toUpperCase(Locale.ROOT);
        if (!n.isEmpty()) {
          out.add(n);
        }
      }
    }
    return out;
  }

  private static String blankToNull(final String s) {
    return s == null || s.isBlank() ? null : s.strip();
  }
}
