package dev.jlight.core.template;

import java.util.LinkedHashMap;
import java.util.Map;

/** Jinja2's {@code namespace(...)}: the one object whose attributes a template may assign. */
final class Namespace {
    final Map<Object, Object> attrs = new LinkedHashMap<>();
}
