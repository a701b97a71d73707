#!/usr/bin/env python3
"""Generates the expected outputs the Java chat-template engine (dev.jlight.core.template) is tested against.

Renders with real Jinja2 in the environment HF transformers uses for chat templates
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, the generation tag, and
transformers' tojson / raise_exception / strftime_now), with strftime_now pinned to a fixed time.

Writes:
  testdata/templates/jinja_cases.json     small templates + contexts -> expected or expected_error
  testdata/templates/real_templates.json  real chat templates x conversations -> expected or error
                                          (templates from .assets/tokenizers/<name>/tokenizer_config.json,
                                          and from testdata/templates/extra/*.jinja)

Usage: python3 scripts/jinja_cases.py   (needs jinja2 >= 3.1; run from anywhere)
"""
import copy
import json
import os
import random
import sys
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "testdata", "templates")
FIXED_NOW = datetime(2024, 7, 26, 14, 5, 9)  # the Java tests use the same instant (UTC clock)


# --------------------------------------------------------------------------- transformers' environment

class GenerationTag(Extension):
    """transformers' AssistantTracker, minus the index tracking: {% generation %} renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return FIXED_NOW.strftime(format)


def make_env():
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


ENV = make_env()


def render(template, context):
    """Returns {"expected": str} or {"expected_error": {"type", "message"}}."""
    try:
        return {"expected": ENV.from_string(template).render(**context)}
    except Exception as e:  # noqa: BLE001 - every failure is an expected outcome
        return {"expected_error": {"type": type(e).__name__, "message": str(e)}}


# --------------------------------------------------------------------------- small cases

CASES = []


def c(template, ctx=None, name=None):
    CASES.append({"name": name or template[:60], "template": template, "context": ctx or {}})


MSGS = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi there"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "How are you?"},
]
D = {"a": 1, "b": [1, 2, 3], "c": {"d": "x"}, "s": "Hello World", "n": None, "t": True, "f": False, "fl": 1.5,
     "items": "value", "e": "", "l": [3, 1, 2], "words": ["b", "A", "c"], "msgs": MSGS}

# ---- text, comments, whitespace control, trim_blocks / lstrip_blocks
c("plain text")
c("line1\nline2\n", name="trailing newline dropped")
c("line1\n\n", name="only one trailing newline dropped")
c("a\r\nb\rc", name="newline normalisation")
c("{# comment #}text")
c("a {# c #} b")
c("a\n{# comment #}\nb", name="comment trim_blocks")
c("a\n    {# comment #}\nb", name="comment lstrip_blocks")
c("a  {#- c -#}  b")
c("a\n  {#+ c #}\nb", name="comment plus keeps indentation")
c("{% if true %}\nyes\n{% endif %}\n", name="trim after block")
c("{% if true %}yes{% endif %}\nnext", name="trim removes newline after endif")
c("    {% if true %}\n    yes\n    {% endif %}\n", name="lstrip indented blocks")
c("\t {% if true %}x{% endif %}", name="lstrip tabs and spaces")
c("a  {% if true %}x{% endif %}", name="no lstrip after text on same line")
c("  {{ 'v' }}\n  {% if true %}x{% endif %}\n", name="lstrip does not apply to variables")
c("{{ 'v' }}  {% if true %}x{% endif %}", name="no lstrip right after a variable")
c("{{ 'v' }}\n  {% if true %}x{% endif %}", name="lstrip after variable and newline")
c("x\n  {%+ if true %}y{% endif %}", name="plus disables lstrip")
c("{% if true +%}\ny{% endif %}", name="plus disables trim")
c("{% if true -%}\n   y{% endif %}", name="minus strips all after")
c("a   \n\n  {%- if true %}b{% endif %}", name="minus strips all before")
c("a {{- ' b ' -}} c")
c("a\n{{- 'b' }}\nc")
c("a\n{{ 'b' -}}\n  c")
c("{%- if true -%}  \n x \n  {%- endif -%}  \n")
c("{% for i in [1,2] %}\n  {{ i }}\n{% endfor %}\n")
c("{% for i in [1,2] -%}\n  {{ i }}\n{%- endfor %}")
c("<{% for i in [1,2] %} {{ i }} {% endfor %}>")
c("{% set x = 1 %}\n{{ x }}\n")
c("  {% set x = 1 %}  \n{{ x }}", name="lstrip only when whitespace-only line")
c("{% raw %}{{ not parsed }}{% endraw %}")
c("{% raw %}\n  {% if %}\n{% endraw %}\nafter", name="raw keeps content, endraw trims")
c("  {% raw -%}  x  {%- endraw %}  ", name="raw with minus")
c("{{ '{{' }} and {{ '}}' }}")
c("{{ {'a': {'b': 1}} }}", name="nested braces in expression")
c("\u00a0{% if true %}x{% endif %}", name="nbsp is python whitespace for lstrip")
c("text\u2028  {% if true %}x{% endif %}", name="unicode line separator is not a lexer newline")
c("{% if true %}\r\nx{% endif %}", name="crlf after block trimmed")
c("{{ 'a' }}{# unclosed", name="unclosed comment")

# ---- literals, output formatting (Python str())
c("{{ 1 }} {{ -3 }} {{ 1.0 }} {{ 0.1 }} {{ 1e-05 }} {{ 1e16 }} {{ 1e15 }} {{ 123456789.125 }} {{ 2.5e-7 }}")
c("{{ 0.30000000000000004 }} {{ 1/3 }} {{ 2/3 }} {{ 100.0 }} {{ 1.5e300 * 1.5e300 }} {{ -0.0 }}")
c("{{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1_000 }} {{ 1_0.5 }}")
c("{{ true }} {{ True }} {{ false }} {{ none }} {{ None }}")
c("{{ [1, 'a', none, true, 2.5] }}")
c("{{ ['it\\'s', \"say \\\"hi\\\"\", 'both \\' \"'] }}")
c("{{ {'k': 'v', 'n': none, 1: 2} }}")
c("{{ (1, 2) }} {{ (1,) }} {{ () }}")
c("{{ 1, 2 }}", name="bare tuple output")
c("{{ 'a\\nb\\tc\\\\d' }}")
c("{{ ['a\\nb', 'tab\\t', 'bs\\\\', 'bell\\x07', '\\u00e9', '\\U0001F600'] }}")
c("{{ 'x\\x41\\u0042\\N{BULLET}\\101' }}")
c("{{ 'unknown \\d escape' }}")
c("{{ 'multi' 'ple' \"strings\" }}")
c("{{ '\u00e9\u4e2d\U0001F600' }}|{{ ['\u00e9\u4e2d\U0001F600'] }}")
c("{{ ['\\x7f', '\\x00', '\\u200b', '\\u2028', '\\ud7ff'] }}")
c("{{ s }}", {"s": "from context"})
c("{{ fl }} {{ a }} {{ b }} {{ c }}", D)
c("{{ range(3) }} {{ range(1, 10, 3) }}")
c("{{ namespace(a=1) }}")
c("{{ {'a': 1}.items() }}")

# ---- arithmetic
c("{{ 1 + 2 }} {{ 7 - 10 }} {{ 3 * 4 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }}")
c("{{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2 ** 3 ** 2 }} {{ 2.0 ** 0.5 }} {{ -2 ** 2 }}")
c("{{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 1 + 1.5 }} {{ true + 1 }} {{ 10 - true }}")
c("{{ 'ab' + 'cd' }} {{ 'ab' * 3 }} {{ 3 * 'x' }} {{ [1] + [2, 3] }} {{ [0] * 3 }} {{ 'x' * 0 }}|")
c("{{ 1 ~ 2 ~ 'a' ~ none ~ true }}")
c("{{ 'a' ~ undefined_var ~ 'b' }}")
c("{{ 1 + 'a' }}")
c("{{ 'a' + 1 }}")
c("{{ 1 / 0 }}")
c("{{ 5 // 0 }}")
c("{{ 5 % 0 }}")
c("{{ - 'a' }}")
c("{{ -(3) }} {{ +3 }} {{ -1.5|abs }} {{ - -2 }}")
c("{{ 1 + 2 * 3 - 4 / 2 }} {{ (1 + 2) * 3 }} {{ 10 - 2 - 3 }} {{ 2 * 3 % 4 }}")
c("{{ 'a' ~ 1 + 2 }}", name="concat binds looser than plus")
c("{{ -3|abs }}", name="unary minus binds tighter than filter")
c("{{ 1 + undefined_var }}")
c("{{ '%s is %d years' % ('Bob', 42) }}")
c("{{ '%(name)s-%(n)05.1f' % {'name': 'x', 'n': 3.14159} }}")
c("{{ '%5s|%-5s|%05d|%+d|%x|%X|%o|%e|%g|%G|%%|%c|%r' % ('a', 'b', 42, 5, 255, 255, 8, 12345.678, 0.00001234, 1e20, 65, 'q') }}")
c("{{ '%.2f %.0f %.3e %10.4f %-8.2f|' % (2.675, 0.5, 1234.5, 3.14159, 1.005) }}")
c("{{ '%s' % [1, 2] }} {{ '%s' % none }} {{ '%d' % 3.99 }} {{ '%s and %s' % (1,) }}")
c("{{ 'no args' % 5 }}")

# ---- comparisons, logic
c("{{ 1 == 1 }} {{ 1 == 1.0 }} {{ 1 == true }} {{ 'a' == 'a' }} {{ [1, 2] == [1, 2] }} {{ (1, 2) == [1, 2] }}")
c("{{ 1 != 2 }} {{ 1 < 2 }} {{ 2 <= 2 }} {{ 3 > 2 }} {{ 2 >= 3 }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }}")
c("{{ 'abc' < 'abd' }} {{ 'B' < 'a' }} {{ [1, 2] < [1, 3] }} {{ [1] < [1, 0] }}")
c("{{ 1 < 'a' }}")
c("{{ none == none }} {{ none == false }} {{ undefined_var == none }} {{ {'a': 1} == {'a': 1} }}")
c("{{ 'a' in 'cat' }} {{ 'x' not in 'cat' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }} {{ 'a' in undefined_var }}")
c("{{ 1 in 'abc' }}")
c("{{ 1 in 5 }}")
c("{{ true and 'x' }} {{ false and 'x' }} {{ 0 or 'y' }} {{ 'a' or 'b' }} {{ none or [] }} {{ not 0 }} {{ not 'a' }}")
c("{{ not 1 == 2 }} {{ not true and false }} {{ true or false and false }}")
c("{{ 'yes' if 1 else 'no' }} {{ 'yes' if 0 else 'no' }} [{{ 'only' if false }}]")
c("{{ 'a' if true else 'b' if true else 'c' }} {{ 'a' if false else 'b' if false else 'c' }}")
c("{{ ('x' if false) is defined }}")
c("{% if [] %}t{% else %}f{% endif %}{% if {} %}t{% else %}f{% endif %}{% if '' %}t{% else %}f{% endif %}{% if 0.0 %}t{% else %}f{% endif %}{% if ' ' %}t{% endif %}")

# ---- variables, attributes, items, slicing
c("{{ c.d }} {{ c['d'] }} {{ b[0] }} {{ b[-1] }} {{ b.1 }} {{ c.missing }}|{{ b[10] }}|", D)
c("{{ items }} {{ D2['items'] }} {{ D2.items is callable }} {{ D2.keys is callable }}", {"items": "v", "D2": {"items": "value", "keys": "k"}})
c("{{ d.items() | list }}", {"d": {"items": "value", "x": 1}})
c("{{ d['keys'] }}|{{ d.get('keys') }}|{{ d.get('nope') }}|{{ d.get('nope', 'dflt') }}", {"d": {"keys": 1}})
c("{{ c.missing.deeper }}", D)
c("{{ undefined_var.attr }}")
c("{{ undefined_var['k'] }}")
c("{{ n.attr }}", D)
c("{{ b[10].x }}", D)
c("{{ b['x'] }}|{{ s[100] }}|{{ s[1.5] }}|", D)
c("{{ b[1:] }} {{ b[:-1] }} {{ b[::-1] }} {{ b[::2] }} {{ b[-2:] }} {{ b[5:] }} {{ b[1:2:3] }}", D)
c("{{ s[0] }} {{ s[-1] }} {{ s[:5] }} {{ s[::-1] }} {{ s[6:] }} {{ s[-5:-2] }} {{ s[::3] }}", D)
c("{{ e[0] }}|{{ e[:1] }}|{{ e[::-1] }}|", D)
c("{{ u[1] }} {{ u[-1] }} {{ u[1:3] }} {{ u|length }} {{ u[::-1] }}", {"u": "a\U0001F600b\u00e9c"})
c("{{ msgs[-1].content }} {{ msgs[::-1][0].role }} {{ msgs[1:]|length }}", D)
c("{{ (1, 2, 3)[1:] }} {{ range(10)[2:5] }}")
c("{{ b[::0] }}", D)
c("{{ t.real }}", {"t": 5})

# ---- tests
c("{{ x is defined }} {{ undefined_var is defined }} {{ undefined_var is undefined }} {{ n is none }} {{ n is defined }}", {"x": 1, "n": None})
c("{% for v in vals %}{{ v is string }},{{ v is number }},{{ v is integer }},{{ v is float }},{{ v is boolean }},{{ v is mapping }},{{ v is iterable }},{{ v is sequence }},{{ v is none }},{{ v is callable }};{% endfor %}",
  {"vals": ["s", 1, 1.5, True, None, {"a": 1}, [1]]})
c("{{ undefined_var is iterable }} {{ undefined_var is sequence }} {{ undefined_var is string }} {{ undefined_var is mapping }}")
c("{{ 3 is odd }} {{ 3 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 4 is even }}")
c("{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'Abc' is lower }} {{ '123' is lower }}")
c("{{ 1 is eq 1 }} {{ 1 is equalto 2 }} {{ 2 is gt 1 }} {{ 2 is lt 1 }} {{ 2 is ge 2 }} {{ 2 is le 1 }} {{ 2 is ne 2 }} {{ 2 is == 2 }}")
c("{{ 1 is in [1, 2] }} {{ 'a' is in 'xyz' }}")
c("{{ x is sameas none }} {{ true is sameas true }} {{ 1 is sameas 1 }} {{ y is sameas y }}", {"x": None, "y": [1]})
c("{{ x is true }} {{ x is false }} {{ 1 is true }} {{ y is false }}", {"x": True, "y": False})
c("{{ x is not none }} {{ x is not string }} {{ not x is none }}", {"x": "s"})
c("{{ raise_exception is callable }} {{ namespace is callable }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ 'nope' is filter }}")
c("{{ 'abc'.upper is callable }}")
c("{{ x is odd }}", {"x": "s"})
c("{{ x is nosuchtest }}", {"x": 1})

# ---- filters
c("{{ '  hi  '|trim }}|{{ 'xxhixx'|trim('x') }}|{{ s|upper }}|{{ s|lower }}|{{ 'hello wORLD'|title }}|{{ 'hello wORLD'|capitalize }}", D)
c("{{ \"they're bill's-friend (x) [y] <z> {w}\"|title }}")
c("{{ b|length }} {{ s|length }} {{ c|count }} {{ ''|length }} {{ b|first }} {{ b|last }} {{ s|first }} {{ s|last }} {{ c|first }}", D)
c("{{ []|first }}|{{ []|last }}|{{ []|first is defined }}")
c("{{ 5|length }}")
c("{{ b|join }} {{ b|join(', ') }} {{ words|join('-') }} {{ s|join('.') }} {{ msgs|join(',', attribute='role') }}", D)
c("{{ undefined_var|default('d') }} {{ none|default('d') }} {{ none|default('d', true) }} {{ ''|d('e', boolean=true) }} {{ 0|default(5) }} {{ false|d('x', true) }}")
c("{{ 'a-b-a'|replace('a', 'x') }} {{ 'a-b-a'|replace('a', 'x', 1) }} {{ 'aaa'|replace('', '-') }} {{ 12|replace(1, 3) }}")
c("{{ 'abc'|list }} {{ c|list }} {{ (1, 2)|list }} {{ range(3)|list }}", D)
c("{{ 42|string ~ 'x' }} {{ none|string }} {{ [1]|string }} {{ 1.50|string }}")
c("{{ '42'|int + 1 }} {{ '3.9'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 3.9|int }} {{ '0x1A'|int(0, 16) }} {{ '0x1A'|int(base=16) }} {{ ' 12 '|int }} {{ '1_000'|int }} {{ true|int }} {{ none|int }}")
c("{{ '1.5'|float }} {{ 'x'|float }} {{ 'x'|float(2.5) }} {{ 3|float }} {{ ' -2e3 '|float }} {{ 'inf'|float }} {{ none|float }}")
c("{{ -5|abs }} {{ -2.5|abs }} {{ 'x'|abs }}")
c("{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 1.234|round(1, 'ceil') }} {{ 1.234|round(1, 'floor') }} {{ 7|round }} {{ 1234|round(-2) }} {{ -2.5|round }}")
c("{{ d|items|list }} {{ d.items()|list }} {{ d|dictsort }} {{ d|dictsort(reverse=true) }} {{ d|dictsort(by='value') }}",
  {"d": {"b": 2, "a": 3, "C": 1}})
c("{{ d|dictsort(true) }}", {"d": {"b": 2, "a": 3, "C": 1}})
c("{{ 5|items|list }}")
c("{{ l|sort }} {{ l|sort(reverse=true) }} {{ words|sort }} {{ words|sort(case_sensitive=true) }} {{ msgs|sort(attribute='role')|map(attribute='content')|join(',') }}", D)
c("{{ people|sort(attribute='age,name')|map(attribute='name')|join(',') }}",
  {"people": [{"name": "b", "age": 2}, {"name": "a", "age": 2}, {"name": "c", "age": 1}]})
c("{{ [3, 'a']|sort }}")
c("{{ [1, 2, 2, 'a', 'A', 1.0]|unique|list }} {{ ['a', 'A']|unique(case_sensitive=true)|list }} {{ msgs|unique(attribute='role')|map(attribute='content')|list }}", D)
c("{{ l|reverse|list }} {{ s|reverse }} {{ l|sum }} {{ [1.5, 2]|sum }} {{ msgs|sum(attribute='x', start=10) if false else [1,2]|sum(start=10) }} {{ l|min }} {{ l|max }} {{ words|min }} {{ words|max }} {{ words|max(case_sensitive=true) }}", D)
c("{{ []|min }}|{{ people|max(attribute='age') }}", {"people": [{"name": "b", "age": 2}, {"name": "c", "age": 1}]})
c("{{ msgs|map(attribute='role')|list }} {{ words|map('upper')|list }} {{ ['1', '2']|map('int')|sum }} {{ msgs|map(attribute='nope', default='-')|list }} {{ ['a b']|map('replace', ' ', '_')|list }}", D)
c("{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }} {{ msgs|rejectattr('role', 'eq', 'user')|list|length }}", D)
c("{{ msgs|selectattr('content')|list|length }} {{ [0, 1, '', 'a', none]|select|list }} {{ [0, 1, '', 'a', none]|reject|list }}", D)
c("{{ range(10)|select('odd')|list }} {{ range(10)|reject('divisibleby', 3)|list }} {{ [1, 'a', 2.5]|select('number')|list }} {{ ['a', 'b']|select('in', 'abc')|list }}")
c("{{ tools|selectattr('type', 'defined')|list|length }} {{ tools|map(attribute='function.name')|join(',') }} {{ tools|map(attribute='function.parameters.required.0')|list }}",
  {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"required": ["x"]}}}, {"function": {"name": "g", "parameters": {"required": ["y", "z"]}}}]})
c("{{ [1, 2]|map('nosuchfilter')|list }}")
c("{{ range(7)|batch(3)|list }} {{ range(7)|batch(3, 'x')|list }} {{ range(7)|slice(3)|list }} {{ range(7)|slice(3, 0)|list }}")
c("{{ 'a\nb\n\nc'|indent }}|{{ 'a\nb'|indent(2, true) }}|{{ 'a\n\nb'|indent(2, blank=true) }}|{{ 'a\nb'|indent('> ') }}")
c("{{ 'one two  three'|wordcount }} {{ 'x'|center(5) }}| {{ 'ab'|center(5) }}| {{ 'hello world foo bar'|truncate(9) }} {{ 'hello world'|truncate(5, true) }} {{ 'hello world foo'|truncate(11, false, '!', 0) }} {{ 'short'|truncate(10) }}")
c("{{ '<a href=\"x\">&\\'</a>'|e }} {{ '<b>'|escape }} {{ '<b>'|safe }} {{ none|e }} {{ 5|e }}")
c("{{ 'Hi %s, you are %d'|format('Bob', 3) }} {{ '%(a)s!'|format(a='x') }} {{ '%.2f'|format(3.14159) }}")
c("{{ users|groupby('city')|list }}|{% for g in users|groupby('city') %}{{ g.grouper }}:{{ g.list|map(attribute='n')|join(',') }};{% endfor %}",
  {"users": [{"n": 1, "city": "b"}, {"n": 2, "city": "a"}, {"n": 3, "city": "b"}]})
c("{{ x|attr('real') }} {{ d|attr('a') }}|{{ d|attr('items') is callable }}", {"x": 3, "d": {"a": 1}})
c("{{ 1024|filesizeformat }} {{ 1|filesizeformat }} {{ 2048|filesizeformat(true) }} {{ 1500000|filesizeformat }}")
c("{{ '<p>Hello <b>World</b>  &amp; you</p>'|striptags }}")
c("{{ x|nosuchfilter }}", {"x": 1})
c("{{ [1, 2]|join(attribute=0) }}")
c("{{ 'x'|upper|lower|capitalize ~ '!' }}")
c("{{ s|trim|length > 3 }}", D)

# ---- tojson (transformers' version)
c("{{ d|tojson }}", {"d": {"b": 1, "a": [1, 2.5, None, True, "x"], "u": "\u00e9\u4e2d\U0001F600", "q": "say \"hi\"\n\t<tag> & 'q' \\"}})
c("{{ d|tojson(indent=2) }}", {"d": {"b": 1, "a": [1, {"x": []}, {}], "c": {}}})
c("{{ d|tojson(indent=4) }}|{{ [[]]|tojson(indent=1) }}|{{ []|tojson(indent=2) }}", {"d": {"k": [1, 2]}})
c("{{ d|tojson(ensure_ascii=true) }}", {"d": {"u": "\u00e9\u4e2d\U0001F600\u007f\u0001"}})
c("{{ d|tojson(separators=(',', ':')) }} {{ d|tojson(sort_keys=true) }} {{ d|tojson(indent='\t') }}", {"d": {"b": 1, "a": [1, 2]}})
c("{{ d|tojson(indent=0) }}", {"d": {"b": 1, "a": [1, 2]}})
c("{{ (1, 'a')|tojson }} {{ 'str'|tojson }} {{ none|tojson }} {{ 1.0|tojson }} {{ 1e-7|tojson }} {{ {1: 2, none: 3, true: 4, 2.5: 5}|tojson }}")
c("{{ undefined_var|tojson }}")
c("{{ namespace(a=1)|tojson }}")
c("{{ {(1, 2): 3}|tojson }}")
c("{{ d|tojson(true) }}", {"d": {"u": "\u00e9"}}, name="tojson positional arg is ensure_ascii")
c("{{ tools[0]|tojson }}", {"tools": [{"type": "function", "function": {"name": "get_weather", "description": "Get weather", "parameters": {"type": "object", "properties": {"city": {"type": "string", "enum": ["a", "b"]}, "days": {"type": "integer", "minimum": 1, "default": 1.0}}, "required": ["city"]}}}]})

# ---- Python string methods
c("{{ s.startswith('Hello') }} {{ s.endswith('World') }} {{ s.startswith(('x', 'He')) }} {{ s.startswith('World', 6) }} {{ s.endswith('Hello', 0, 5) }}", D)
c("{{ 'a,b,,c'.split(',') }} {{ ' a  b \n c '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ '  a b c  '.split(none, 1) }} {{ 'a b'.split(' ') }} {{ ''.split() }} {{ ''.split(',') }}")
c("{{ 'a,b,c'.rsplit(',', 1) }} {{ '  a b c  '.rsplit(none, 1) }} {{ 'a,b,c'.rsplit(',') }} {{ 'abcbcd'.rsplit('bc', 1) }}")
c("{{ 'x'.split('') }}")
c("[{{ '  x  '.strip() }}][{{ '  x  '.lstrip() }}][{{ '  x  '.rstrip() }}][{{ 'xxaxx'.strip('x') }}][{{ '\n\nab\n'.lstrip('\n') }}][{{ 'abcba'.rstrip('ab') }}][{{ '\u3000x\u00a0'.strip() }}]")
c("{{ 'hello'.upper() }} {{ 'HeLLo'.lower() }} {{ 'hello world'.title() }} {{ \"they're 1st\".title() }} {{ 'hELLO'.capitalize() }} {{ 'AbC'.swapcase() }}")
c("{{ 'hello'.replace('l', 'L') }} {{ 'hello'.replace('l', 'L', 1) }} {{ 'hello'.find('l') }} {{ 'hello'.find('z') }} {{ 'hello'.rfind('l') }} {{ 'hello'.index('e') }} {{ 'hello'.count('l') }} {{ 'hello'.find('l', 3) }}")
c("{{ 'hello'.index('z') }}")
c("{{ '{} and {}'.format('a', 'b') }} {{ '{1}{0}'.format('a', 'b') }} {{ '{x}-{y}'.format(x=1, y=2) }} {{ '{:>5}|{:<5}|{:^5}|{:05d}|{:.2f}|{:,}|{!r}'.format('a', 'b', 'c', 42, 3.14159, 1234567, 'q') }} {{ '{{literal}}'.format() }}")
c("{{ '{0[a]} {0[b][1]} {1.real}'.format(d, 5) }}", {"d": {"a": 1, "b": [1, 2]}})
c("{{ '{:x} {:#b} {:+d} {:e} {:%} {:g} {:10.3f}|'.format(255, 5, 3, 12345.678, 0.25, 0.0001, 2.5) }}")
c("{{ ', '.join(['a', 'b']) }} {{ ''.join(l) }}", {"l": ["x", "y"]})
c("{{ ', '.join([1, 2]) }}")
c("{{ 'a\nb\r\nc'.splitlines() }} {{ 'a\nb\n'.splitlines(true) }} {{ ''.splitlines() }}")
c("{{ '123'.isdigit() }} {{ 'abc'.isalpha() }} {{ 'ab1'.isalnum() }} {{ '  '.isspace() }} {{ ''.isspace() }} {{ 'Ab'.isupper() }} {{ 'ab'.islower() }} {{ 'Ab Cd'.istitle() }} {{ '12'.isnumeric() }} {{ '1.5'.isdecimal() }}")
c("{{ 'prefix_x'.removeprefix('prefix_') }} {{ 'x.txt'.removesuffix('.txt') }} {{ 'abc'.removeprefix('z') }} {{ '42'.zfill(5) }} {{ '-42'.zfill(5) }} {{ 'ab'.ljust(4, '*') }} {{ 'ab'.rjust(4) }} {{ 'ab'.center(6, '-') }}")
c("{{ 'a=b=c'.partition('=') }} {{ 'a=b=c'.rpartition('=') }} {{ 'abc'.partition('x') }}")
c("{{ 'abc'.nosuchmethod() }}")
c("{{ 'abc'.upper is callable }}|{{ d.nosuch }}|{{ d.nosuch is defined }}", {"d": {}})
c("{{ x.content.startswith('a') }}", {"x": {}})
c("{{ none.startswith('a') }}")

c("{{ u.lower() }}|{{ u.upper() }}|{{ u.title() }}|{{ u.capitalize() }}|{{ u.swapcase() }}|{{ u|title }}|{{ u|capitalize }}|{{ u|lower }}",
  {"u": "ΟΔΟΣ ΣΑΣ. straße ǰoin İstanbul ŉ ﬁne ǅemal"}, name="unicode case mappings")
c("{{ -0.001|round(2) }} {{ 0.125|round(2) }} {{ 1e300|round(2) }} {{ 2.5|round(0, 'ceil') }} {{ -2.5|round(0, 'floor') }}")

# ---- dict and list methods, the immutable sandbox
c("{{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }} {{ d.get('a') }} {{ d.get('z', 0) }} {{ d|length }}", {"d": {"a": 1, "b": 2}})
c("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {"d": {"z": 1, "a": 2, "m": 3}})
c("{% for k in d %}{{ k }}{% endfor %}", {"d": {"z": 1, "a": 2}})
c("{{ l.index(2) }} {{ l.count(1) }} {{ l.copy() }}", {"l": [1, 2, 1]})
c("{{ l.index(9) }}", {"l": [1, 2, 1]})
c("{{ l.append(4) }}", {"l": [1]})
c("{{ l.pop() }}", {"l": [1]})
c("{{ d.update({'b': 2}) }}", {"d": {"a": 1}})
c("{{ l.append }}|{{ d.pop }}|", {"l": [1], "d": {"a": 1}})
c("{{ d.__class__ }}|{{ ''.__class__ }}|", {"d": {"a": 1}})
c("{{ dict(a=1, b='x') }} {{ dict(d, c=3) }} {{ dict([('k', 'v')]) }} {{ dict() }}", {"d": {"a": 1}})

# ---- for loops
c("{% for x in b %}{{ loop.index }}/{{ loop.length }}:{{ x }}{% if not loop.last %},{% endif %}{% endfor %}", D)
c("{% for x in b %}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}|{% endfor %}", D)
c("{% for x in b %}[{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }}]{{ loop.previtem is defined }}{% endfor %}", D)
c("{% for x in b %}{{ loop.cycle('odd', 'even') }} {% endfor %}", D)
c("{% for x in [1, 1, 2, 3, 3] %}{% if loop.changed(x) %}{{ x }}{% endif %}{% endfor %}")
c("{% for x in [] %}x{% else %}empty{% endfor %}")
c("{% for x in undefined_var %}x{% else %}empty{% endfor %}")
c("{% for x in none %}x{% endfor %}")
c("{% for x in 5 %}x{% endfor %}")
c("{% for c in 'héllo' %}{{ c }}.{% endfor %}")
c("{% for x in range(10) if x is odd %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% endfor %}")
c("{% for x in range(10) if x > 100 %}{{ x }}{% else %}none{% endfor %}")
c("{% for a, b in [(1, 2), (3, 4)] %}{{ a }}+{{ b }} {% endfor %}")
c("{% for a, b in [[1, 2], 'xy'] %}{{ a }}{{ b }} {% endfor %}")
c("{% for a, b in [(1, 2, 3)] %}{% endfor %}")
c("{% for a, (b, c) in [(1, (2, 3))] %}{{ a }}{{ b }}{{ c }}{% endfor %}")
c("{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}")
c("{% for i in range(3) %}{% for j in range(3) %}{% if j > i %}{% break %}{% endif %}{{ i }}{{ j }} {% endfor %}{% endfor %}")
c("{% for i in range(2) %}{% set outer = loop %}{% for j in range(2) %}{{ outer.index }}.{{ loop.index }} {% endfor %}{% endfor %}")
c("{% for x in [1, 2] %}{{ loop.depth }}{% endfor %}")
c("{% for item in tree recursive %}{{ item.n }}{% if item.c %}({{ loop(item.c) }}){% endif %}{{ loop.depth }}{% endfor %}",
  {"tree": [{"n": "a", "c": [{"n": "b", "c": [{"n": "c"}]}]}, {"n": "d"}]})
c("{% set x = 'o' %}{% for i in range(3) %}{% set x = x ~ i %}{{ x }}{% endfor %}{{ x }}", name="set in loop is per iteration")
c("{% for i in [1, 2] %}{% if loop.first %}{% set y = 5 %}{% endif %}{{ y }}|{% endfor %}{{ y }}")
c("{% for i in [1] %}{% endfor %}{{ i }}|{{ loop }}|", name="loop vars do not leak")
c("{% break %}")
c("{% for x in [1] %}{% else %}{% continue %}{% endfor %}")
c("{% for x in [1, 2] %}{{ x }}{% endfor %}{% for x in [3] %}{{ x }}{% endfor %}")
c("{% for m in msgs %}{{ m['role'] }}:{{ m.content }}\n{% endfor %}", D)

# ---- if, set, namespace, with
c("{% if a == 1 %}one{% elif a == 2 %}two{% else %}other{% endif %}", {"a": 2})
c("{% if a %}A{% elif b %}B{% endif %}|", {"a": 0, "b": 0})
c("{% if true %}{% set x = 1 %}{% endif %}{{ x }}", name="set in if leaks to outer scope")
c("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = (3, 4) %}{{ c }}")
c("{% set x %}block {{ 1 + 1 }}{% endset %}[{{ x }}]")
c("{% set x | upper | trim %}  shout  {% endset %}[{{ x }}]")
c("{% set ns = namespace(count=0, found=false) %}{% for i in range(5) %}{% set ns.count = ns.count + i %}{% if i == 3 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.count }} {{ ns.found }}")
c("{% set ns = namespace() %}{% set ns.x = 'v' %}{{ ns.x }} {{ ns.missing }}| {{ ns['x'] }}")
c("{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}")
c("{% set d = {} %}{% set d.x = 1 %}")
c("{% set x = 5 %}{% with x = 1, y = 2 %}{{ x }}{{ y }}{% set x = 9 %}{% endwith %}{{ x }}")
c("{% set messages = msgs[1:] %}{{ messages|length }}{% set add_generation_prompt = false %}{{ add_generation_prompt }}", D)
c("{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{{ add_generation_prompt }}")
c("{% set x = [1, 2] %}{% set y = x %}{{ y is sameas x }}")

# ---- scoping
c("{% for x in [1,2] %}{{ y }}{% set y = x %}{{ y }}|{% endfor %}")
c("{% set y = 'o' %}{% for x in [1,2] %}{{ y }}{% set y = x %}{{ y }}|{% endfor %}{{ y }}")
c("{% macro m() %}{{ v }}{% endmacro %}{% set v = 1 %}{{ m() }}{% set v = 2 %}{{ m() }}")
c("{% set v = 1 %}{% macro m() %}{{ v }}{% endmacro %}{% for v in [5] %}{{ m() }}{% endfor %}", name="macros are lexically scoped")
c("{% for i in [1] %}{% macro m() %}{{ i }}{% endmacro %}{{ m() }}{% endfor %}")
c("{% macro m(ns) %}{% set ns.v = 5 %}{% endmacro %}{% set ns = namespace(v=0) %}{{ m(ns) }}{{ ns.v }}")
c("{% set x = 1 %}{% macro m() %}{% set x = 2 %}{{ x }}{% endmacro %}{{ m() }}{{ x }}")
c("{% for x in [1] %}{% set v = x %}{% for y in [2] %}{{ v }}{% set v = y %}{{ v }}{% endfor %}{{ v }}{% endfor %}")
c("{% with %}{% set z = 1 %}{% endwith %}{{ z }}|{{ x }}{% set x = 5 %}{{ x }}")
c("{% for x in [1,2] %}{% if x == 1 %}{% set msg = 'a' %}{% else %}{{ msg }}{% endif %}{% endfor %}|")

# ---- macros, call, filter blocks
c("{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Bob') }} {{ greet('Ann', 'Hi') }} {{ greet(greeting='Yo', name='Cy') }}")
c("{% macro m(a, b=a ~ '!') %}{{ a }}{{ b }}{% endmacro %}{{ m(1) }}")
c("{% macro m(a) %}[{{ a }}]{% endmacro %}{{ m() }}")
c("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}")
c("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(b=2) }}")
c("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, a=2) }}")
c("{% macro m() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, k='v') }}")
c("{% macro m(x) %}{{ x|length }}{% endmacro %}{% set r = m('abc') %}{{ r ~ r }} {{ m('ab') is string }}")
c("{% macro render(m) %}{% if m.content is string %}{{ m.content }}{% else %}{% for p in m.content %}{{ p.text }}{% endfor %}{% endif %}{% endmacro %}{% for m in ms %}{{ render(m) }};{% endfor %}",
  {"ms": [{"content": "plain"}, {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]})
c("{% macro outer() %}{% macro inner() %}in{% endmacro %}{{ inner() }}{% endmacro %}{{ outer() }}")
c("{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }}")
c("{% macro loopy() %}{{ loopy() }}{% endmacro %}{{ loopy() }}", name="infinite macro recursion")
c("{% set g = 'global' %}{% macro m() %}{{ g }}{% endmacro %}{{ m() }}")
c("{% macro wrap() %}<{{ caller() }}>{% endmacro %}{% call wrap() %}inner {{ 1 + 1 }}{% endcall %}")
c("{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) each([1, 2]) %}[{{ x }}]{% endcall %}")
c("{% filter upper %}hello {{ 'world' }}{% endfilter %}")
c("{% filter replace('a', 'b')|upper %}banana{% endfilter %}")
c("{% macro m() %}x{% endmacro %}{{ m }}")

# ---- globals and helpers
c("{{ range(5)|list }} {{ range(2, 5)|list }} {{ range(10, 0, -3)|list }} {{ range(0)|list }}")
c("{{ range(1000000)|length }}")
c("{{ range(0, 10, 0) }}")
c("{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}")
c("before{% if true %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}")
c("{{ raise_exception('Some message with \"quotes\" and \\'single\\' and unicode \u00e9') }}")
c("{{ strftime_now('%Y-%m-%d %H:%M:%S') }}|{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%B %d, %Y') }}|{{ strftime_now('%A %a %y %j %p %I') }}")
c("{{ strftime_now('%-d %-m %e|%%|%U %W %w %u|%D %T|%H%M') }}")
c("{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}{{ c.current }}")
c("{% set j = joiner(', ') %}{% for x in [1, 2, 3] %}{{ j() }}{{ x }}{% endfor %}")
c("{{ nosuchfunc() }}")
c("{{ 'abc'() }}")

# ---- Markup (safe/escape) and generator semantics
c("{{ ('<b>'|safe) + '<i>' }} {{ '<i>' + ('<b>'|safe) }} {{ ('<b>'|safe) ~ '<i>' }} {{ ('<b>'|safe) * 2 }} {{ ('<b>'|e) + '&' }}")
c("{{ ('%s'|safe) % '<x>' }} {{ ('%s|%d'|safe) % ('<x>', 3) }} {{ '%s'|safe|format('<y>') }}")
c("{{ ('<b>'|safe) + 1 }}")
c("{{ ('<b>'|safe)|upper + '<' }} {{ ('<b> '|safe)|trim + '<' }} {{ ('a<b>'|safe)|title + '<' }} {{ ('<b>'|safe)|replace('b', 'i') + '<' }}")
c("{{ ('<b>'|safe).upper() + '<' }} {{ ('a b'|safe).replace(' ', '&') }} {{ ('a,b'|safe).split(',')[0] + '<' }} {{ ('<ab>'|safe)[1:] + '<' }} {{ ('x'|safe).join(['<', '>']) }} {{ ('{}'|safe).format('<') }}")
c("{{ ('<b>'|safe) is string }} {{ ('<b>'|safe)|length }} {{ '<x>'|safe|tojson }} {{ ['<b>'|safe] }} {{ ('<b>'|safe) == '<b>' }} {{ 'b' in ('<b>'|safe) }}")
c("{{ t|safe + m['content'] }}", {"t": "Use '", "m": {"content": "a<b> & \"c\""}})
c("{% set g = l|map('string') %}{{ g|join(',') }}|{{ g|join(',') }}|", {"l": [3, 1, 2]}, name="generators are single pass")
c("{% if []|select %}truthy{% endif %} {{ l|select|first }} {{ 2 in l|select }} {{ l|unique is iterable }} {{ l|unique is sequence }} {{ (l|map('string'))[0] }}|", {"l": [3, 1, 2]})
c("{{ l|select|length }}", {"l": [3, 1, 2]})
c("{{ l|select|last }}", {"l": [3, 1, 2]})
c("{{ l|map('string')|tojson }}", {"l": [3, 1, 2]})
c("{{ l|reverse|join(',') }} {{ (l|reverse|list)[0] }} {{ 'abc'|reverse }} {{ d|reverse|list }}", {"l": [3, 1, 2], "d": {"a": 1, "b": 2}})
c("{% set x = l|map('int') %}ok", {"l": ["a"]}, name="generators are lazy")
c("{{ 5|items is defined }}", name="items filter fails only when consumed")
c("{{ d.items()|length }} {{ d.items()[0] }}|{{ d.keys()|first }} {{ d.values()|list }} {{ 'a' in d.keys() }}", {"d": {"a": 1, "b": 2}})
c("{{ d.items()|tojson }}", {"d": {"a": 1}})

# ---- unknown filters/tests: compile error, except in if-branches that do not run
c("{% if false %}{{ x|nosuchfilter }}{% endif %}ok")
c("{% if true %}{{ x|nosuchfilter }}{% endif %}ok")
c("{{ x|nosuchfilter if false else 1 }}")
c("{% if false %}{{ x is nosuchtest }}{% endif %}ok")
c("{% if false %}{% for a in [] %}{{ x|nosuchfilter }}{% endfor %}{% endif %}ok")
c("{% macro m() %}{{ x|nosuchfilter }}{% endmacro %}ok")
c("{% for x in [] %}{% else %}{% set y = 1 %}{% endfor %}{{ y }}|", name="for-else has its own scope")

# ---- generation tag
c("{% generation %}assistant text {{ 1 }}{% endgeneration %}!")
c("{% for m in msgs %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}|{% endfor %}", D)

# ---- syntax errors
c("{% if true %}no end")
c("{% for x in y %}")
c("{% endif %}")
c("{% foo %}")
c("{{ 1 + }}")
c("{{ 'unterminated }}")
c("{{ a b }}")
c("{% if %}{% endif %}")
c("{% do x.append(1) %}", name="do extension is not enabled")
c("{{ (1 }}")
c("{{ 1 ! 2 }}")
c("{% set 1 = 2 %}")
c("{% for x in [1] %}{% endif %}")
c("{% include 'x.html' %}")
c("{{ x }", {"x": 1})
c("{% macro m(a=1, b) %}{% endmacro %}")

# ---- realistic chat template fragments
c("{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}",
  {"bos_token": "<s>", "eos_token": "</s>", "messages": MSGS[1:]}, name="mistral style ok")
c("{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{{ message['content'] }}{% endfor %}",
  {"bos_token": "<s>", "messages": MSGS}, name="mistral style raises")
c("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
  {"messages": MSGS, "add_generation_prompt": True}, name="chatml")
c("{%- set ns = namespace(last_query_index=messages|length - 1) %}{%- for message in messages[::-1] %}{%- set index = (messages|length - 1) - loop.index0 %}{%- if message.role == 'user' %}{%- set ns.last_query_index = index %}{% break %}{%- endif %}{%- endfor %}{{ ns.last_query_index }}",
  {"messages": MSGS + [{"role": "assistant", "content": "x"}]}, name="qwen last query index")
c("{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content']|trim %}\n    {%- set messages = messages[1:] %}\n{%- else %}\n    {%- set system_message = \"\" %}\n{%- endif %}\n{{- system_message }}|{{ messages|length }}",
  {"messages": MSGS}, name="llama3.1 style system extraction")
c("{%- for message in messages %}\n    {%- if message.role == 'assistant' and '</think>' in message.content %}\n        {%- set content = message.content.split('</think>')[-1].lstrip('\\n') %}\n        {%- set reasoning = message.content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}\n{{ reasoning }}|{{ content }}\n    {%- endif %}\n{%- endfor %}",
  {"messages": [{"role": "assistant", "content": "<think>\nI think\n</think>\n\nAnswer"}]}, name="think split")
c("{{- '<tool_call>\\n{\"name\": \"' }}{{- tool_call.name }}{{- '\", \"arguments\": ' }}{%- if tool_call.arguments is string %}{{- tool_call.arguments }}{%- else %}{{- tool_call.arguments | tojson }}{%- endif %}",
  {"tool_call": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "°C", "n": 3}}}, name="tool call json")


# ---- random templates: whitespace control around every kind of tag, and mixed-type expressions
# (the generators found lexer and Python-semantics differences; a fixed sample stays as regression)

def fuzz_whitespace(rng, n):
    ws_parts = ["", " ", "  ", "\t", "\n", " \n", "\n ", "\n\n", "  \n  ", "\r\n", " \t \n", "\u00a0", "x", "\n z\n"]

    def ws():
        return "".join(rng.choice(ws_parts) for _ in range(rng.randint(0, 3)))

    def sign():
        return rng.choice(["", "", "", "-", "+"])

    def blk(body):
        return "{%" + sign() + " " + body + " " + sign() + "%}"

    def var(e):
        return "{{" + rng.choice(["", "", "-"]) + " " + e + " " + rng.choice(["", "", "-"]) + "}}"

    def frag(depth=0):
        k = rng.random()
        if depth > 2 or k < 0.35:
            return ws() + rng.choice([var("'v'"), var("x"), "{#" + sign() + " c " + sign() + "#}", "text", ws()]) + ws()
        if k < 0.55:
            return ws() + blk("if x") + frag(depth + 1) + (blk("else") + frag(depth + 1) if rng.random() < 0.4 else "") + blk("endif") + ws()
        if k < 0.75:
            return ws() + blk("for i in [1, 2]") + frag(depth + 1) + blk("endfor") + ws()
        if k < 0.85:
            return ws() + blk("set y = 1") + ws()
        if k < 0.92:
            return ws() + blk("raw") + ws() + "{{ r }}" + ws() + blk("endraw") + ws()
        return ws() + blk("macro m()") + frag(depth + 1) + blk("endmacro") + var("m()") + ws()

    for i in range(n):
        c("".join(frag() for _ in range(rng.randint(1, 4))), {"x": True}, name=f"whitespace fuzz {i}")


def fuzz_expressions(rng, n):
    lits = ["0", "1", "-3", "7", "2.5", "-0.5", "1e3", "0.1", "'a'", "'Ab c'", "''", "' x '", "'3'", "'%s'", "[1, 2]",
            "[]", "['b', 'a']", "(1,)", "{'k': 1}", "{}", "none", "true", "false", "x", "y", "s", "l", "d", "nope"]
    ops = ["+", "-", "*", "/", "//", "%", "**", "~", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or"]
    filters = ["length", "string", "int", "float", "abs", "first", "last", "list", "lower", "upper", "trim", "join(',')",
               "sort", "reverse|list", "unique|list", "default('D')", "tojson", "sum", "min", "max", "round", "title",
               "capitalize", "count", "items|list", "dictsort", "select|list", "map('string')|list", "batch(2)|list",
               "wordcount", "center(6)", "replace('a', 'b')", "e", "safe", "truncate(3)", "int(base=16)", "float(1.5)"]
    tests = ["defined", "none", "string", "number", "integer", "float", "mapping", "iterable", "sequence", "odd", "even",
             "divisibleby(2)", "boolean", "true", "false", "lower", "upper", "in [1, 'a']", "eq 1", "sameas none", "callable"]

    def expr(d=0):
        k = rng.random()
        if d > 2 or k < 0.3:
            return rng.choice(lits)
        if k < 0.55:
            return "(" + expr(d + 1) + " " + rng.choice(ops) + " " + expr(d + 1) + ")"
        if k < 0.7:
            return expr(d + 1) + "|" + rng.choice(filters)
        if k < 0.8:
            return "(" + expr(d + 1) + " is " + rng.choice(["", "not "]) + rng.choice(tests) + ")"
        if k < 0.87:
            return "(" + rng.choice(["not ", "-"]) + expr(d + 1) + ")"
        if k < 0.94:
            return "(" + expr(d + 1) + " if " + expr(d + 1) + " else " + expr(d + 1) + ")"
        return rng.choice(["s", "l", "d", "x", "nope", "(l|list)", "(s ~ 'z')"]) + "[" + rng.choice(["0", "-1", "1:", "::-1", "'k'", ":1"]) + "]"

    for i in range(n):
        c("{{ " + expr() + " }}", {"x": 5, "y": 2.5, "s": "Hello", "l": [3, 1, 2], "d": {"b": 2, "a": 1}},
          name=f"expression fuzz {i}")


fuzz_whitespace(random.Random(20240726), 80)
fuzz_expressions(random.Random(726), 120)


# --------------------------------------------------------------------------- real templates

TOOLS = [
    {"type": "function", "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {"type": "object", "properties": {
            "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["location"]}}},
    {"type": "function", "function": {
        "name": "get_time",
        "description": "Current time in a timezone",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": []}}},
]

# The flat tool format some older templates (Command-R tool use) read
TOOLS_FLAT = [
    {"name": "internet_search", "description": "Returns a list of relevant document snippets for a textual query",
     "parameter_definitions": {"query": {"description": "Query to search the internet with", "type": "str", "required": True}}},
    {"name": "directly_answer", "description": "Calls a standard (un-augmented) AI chatbot to generate a response",
     "parameter_definitions": {}},
]

CONVERSATIONS = {
    "single_turn": [{"role": "user", "content": "Hello, how are you?"}],
    "system_multi_turn": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "2+2 equals 4."},
        {"role": "user", "content": "And 3+3?"},
    ],
    "whitespace_unicode": [
        {"role": "user", "content": "  Grüße aus Köln! 你好 👋\n\n  "},
        {"role": "assistant", "content": "\n\nBonjour — ça va? 🎉  \n"},
        {"role": "user", "content": "Tabs\tand\nnewlines\r\n and \"quotes\" 'single' <tags> & {{ braces }}"},
    ],
    "thinking": [
        {"role": "user", "content": "Think first."},
        {"role": "assistant", "content": "<think>\nLet me think.\n</think>\n\nThe answer is 42."},
        {"role": "user", "content": "Why?"},
    ],
    "content_parts": [
        {"role": "system", "content": [{"type": "text", "text": "System in parts."}]},
        {"role": "user", "content": [{"type": "text", "text": "Part one. "}, {"type": "text", "text": "Part two."}]},
    ],
    "tools": [
        {"role": "system", "content": "You can call tools."},
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call00001", "type": "function",
             "function": {"name": "get_current_weather", "arguments": {"location": "Paris, France", "unit": "celsius"}}}]},
        {"role": "tool", "tool_call_id": "call00001", "name": "get_current_weather", "content": "{\"temperature\": 22, \"condition\": \"sunny\"}"},
        {"role": "assistant", "content": "It is 22°C and sunny in Paris."},
        {"role": "user", "content": "Thanks!"},
    ],
    "tools_string_args": [
        {"role": "user", "content": "Time in Tokyo and weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call00002", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\": \"Asia/Tokyo\"}"}},
            {"id": "call00003", "type": "function", "function": {"name": "get_current_weather", "arguments": "{\"location\": \"Oslo\"}"}}]},
        {"role": "tool", "tool_call_id": "call00002", "content": "10:00"},
        {"role": "tool", "tool_call_id": "call00003", "content": "rainy"},
    ],
    "not_alternating": [
        {"role": "user", "content": "First"},
        {"role": "user", "content": "Second"},
    ],
    "assistant_first": [
        {"role": "assistant", "content": "I start."},
        {"role": "user", "content": "OK"},
    ],
}

# (conversation, tools, extra kwargs) rendered for every template, each with and without generation prompt
PLAN = [
    ("single_turn", False, {}),
    ("system_multi_turn", False, {}),
    ("whitespace_unicode", False, {}),
    ("thinking", False, {}),
    ("content_parts", False, {}),
    ("tools", True, {}),
    ("tools_string_args", True, {}),
    ("not_alternating", False, {}),
    ("assistant_first", False, {}),
    ("single_turn", False, {"enable_thinking": False}),
    ("single_turn", True, {}),
    ("system_multi_turn", "flat", {}),
]

# A few real templates beyond the tokenizer packages; their text is committed under testdata/templates/extra/
EXTRA = {
    "llama3.2": ("meta-llama-Llama-3.2-3B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    "gpt-oss": ("openai-gpt-oss-120b.jinja", "<|startoftext|>", "<|return|>"),
    "mistral-nemo": ("mistralai-Mistral-Nemo-Instruct-2407.jinja", "<s>", "</s>"),
    "phi-3.5": ("microsoft-Phi-3.5-mini-instruct.jinja", "<s>", "<|endoftext|>"),
    "hermes-3-tool-use": ("NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", "<|begin_of_text|>", "<|im_end|>"),
    "smollm3": ("HuggingFaceTB-SmolLM3-3B.jinja", "", "<|im_end|>"),
    "granite-3.3": ("ibm-granite-granite-3.3-2B-Instruct.jinja", "<|end_of_text|>", "<|end_of_text|>"),
    "deepseek-r1-distill": ("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "llama3.1": ("meta-llama-Llama-3.1-8B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    "qwen2.5": ("Qwen-Qwen2.5-7B-Instruct.jinja", "", "<|im_end|>"),
    "qwen3-coder": ("Qwen3-Coder.jinja", "", "<|im_end|>"),
    "gemma-2": ("google-gemma-2-2b-it.jinja", "<bos>", "<eos>"),
    "kimi-k2": ("moonshotai-Kimi-K2.jinja", "[BOS]", "[EOS]"),
    "deepseek-v3.2": ("deepseek-ai-DeepSeek-V3.2.jinja", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "command-r-plus-tool-use": ("CohereForAI-c4ai-command-r-plus-tool_use.jinja", "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"),
    # uses "..."|safe + str: markupsafe escapes the plain string
    "functionary-v3.1": ("meetkai-functionary-medium-v3.1.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    # pipes a generator (map) into tojson, which Python cannot serialize
    "llama-cpp-deepseek-r1": ("llama-cpp-deepseek-r1.jinja", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
}


def token_str(v):
    if isinstance(v, dict):
        return v.get("content")
    return v


def special_tokens(cfg):
    """The special tokens transformers passes to the template (special_tokens_map: those that are set)."""
    out = {}
    for key in ("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"):
        v = token_str(cfg.get(key))
        if isinstance(v, str):
            out[key] = v
    extra = [token_str(t) for t in cfg.get("additional_special_tokens") or []]
    extra = [t for t in extra if isinstance(t, str)]
    if extra:
        out["additional_special_tokens"] = extra
    return out


def select_template(cfg):
    t = cfg.get("chat_template")
    if isinstance(t, list):
        by_name = {x["name"]: x["template"] for x in t}
        return by_name.get("default", t[0]["template"] if t else None)
    return t


def render_chat(template, tokens, messages, tools, add_generation_prompt, extra):
    ctx = dict(tokens)
    ctx.update(extra)
    ctx.update(messages=messages, tools=tools, documents=None, add_generation_prompt=add_generation_prompt)
    try:
        return {"expected": ENV.from_string(template).render(**ctx)}
    except Exception as e:  # noqa: BLE001
        return {"error": str(e), "error_type": type(e).__name__}


def real_items(template, tokens):
    items = []
    for conv, with_tools, extra in PLAN:
        for agp in (True, False):
            item = {
                "conversation": conv,
                "messages": CONVERSATIONS[conv],
                "tools": TOOLS_FLAT if with_tools == "flat" else TOOLS if with_tools else None,
                "add_generation_prompt": agp,
                "extra_kwargs": extra,
            }
            item.update(render_chat(template, tokens, CONVERSATIONS[conv], item["tools"], agp, extra))
            items.append(item)
    return items


def real_templates():
    out = []
    assets = os.path.join(ROOT, ".assets", "tokenizers")
    for name in ("llama3", "llama2", "qwen3", "deepseek_v3", "gemma3", "gptoss"):
        path = os.path.join(assets, name, "tokenizer_config.json")
        if not os.path.exists(path):
            print(f"skip {name}: {path} is missing", file=sys.stderr)
            continue
        with open(path, encoding="utf-8") as fh:
            cfg = json.load(fh)
        template = select_template(cfg)
        if not template:
            print(f"skip {name}: tokenizer_config.json has no chat_template", file=sys.stderr)
            continue
        tokens = special_tokens(cfg)
        out.append({"name": name, "source": "assets", "special_tokens": tokens, "items": real_items(template, tokens)})
    for name, (fname, bos, eos) in EXTRA.items():
        path = os.path.join(OUT_DIR, "extra", fname)
        if not os.path.exists(path):
            print(f"skip extra {name}: {path} is missing", file=sys.stderr)
            continue
        with open(path, encoding="utf-8") as fh:
            template = fh.read()
        tokens = {"bos_token": bos, "eos_token": eos}
        out.append({"name": name, "source": "extra/" + fname, "special_tokens": tokens,
                    "items": real_items(template, tokens)})
    return out


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    cases = []
    for case in CASES:
        case = dict(case)
        case.update(render(case["template"], copy.deepcopy(case["context"])))
        cases.append(case)
    with open(os.path.join(OUT_DIR, "jinja_cases.json"), "w", encoding="utf-8") as fh:
        json.dump({"jinja2_version": jinja2.__version__, "now": FIXED_NOW.isoformat(), "cases": cases}, fh,
                  ensure_ascii=False, indent=1)
        fh.write("\n")
    errors = sum(1 for x in cases if "expected_error" in x)
    print(f"jinja_cases.json: {len(cases)} cases ({errors} expect an error)")

    real = real_templates()
    with open(os.path.join(OUT_DIR, "real_templates.json"), "w", encoding="utf-8") as fh:
        json.dump({"jinja2_version": jinja2.__version__, "now": FIXED_NOW.isoformat(), "templates": real}, fh,
                  ensure_ascii=False, indent=1)
        fh.write("\n")
    for t in real:
        errs = sum(1 for i in t["items"] if "error" in i)
        print(f"real_templates.json: {t['name']}: {len(t['items'])} renders ({errs} raise)")


if __name__ == "__main__":
    main()
