//! Parser tests. Trees are compared through a compact text rendering so tables stay readable;
//! spans get their own tests.

use crate::*;

fn op_str(op: Op) -> String {
    let kind = match op.kind {
        OpKind::Eq => "=",
        OpKind::Neq => "!=",
        OpKind::Gt => ">",
        OpKind::Gte => ">=",
        OpKind::Lt => "<",
        OpKind::Lte => "<=",
        OpKind::Like => "~",
        OpKind::NotLike => "!~",
    };
    format!("{}{kind}", if op.any { "?" } else { "" })
}

fn ident_str(i: &Ident) -> String {
    match i.modifier {
        Some(m) => format!("id({}|{})", i.path.join("."), m.as_str()),
        None => format!("id({})", i.path.join(".")),
    }
}

fn operand_str(o: &Operand) -> String {
    match o {
        Operand::Str(s, _) => format!("{s:?}"),
        Operand::Num(n, _) => format!("{n}"),
        Operand::Bool(b, _) => format!("{b}"),
        Operand::Null(_) => "null".to_string(),
        Operand::Param(p, _) => format!("{{:{p}}}"),
        Operand::Ident(i) => ident_str(i),
        Operand::Func { name, args, .. } => {
            let args: Vec<String> = args.iter().map(operand_str).collect();
            format!("{name}({})", args.join(", "))
        }
    }
}

fn expr_str(e: &Expr) -> String {
    match e {
        Expr::And(l, r) => format!("(and {} {})", expr_str(l), expr_str(r)),
        Expr::Or(l, r) => format!("(or {} {})", expr_str(l), expr_str(r)),
        Expr::Cmp(c) => format!(
            "[{} {} {}]",
            operand_str(&c.left),
            op_str(c.op),
            operand_str(&c.right)
        ),
    }
}

fn parse(src: &str) -> String {
    match parse_filter(src) {
        Ok(Some(e)) => expr_str(&e),
        Ok(None) => "<none>".to_string(),
        Err(e) => panic!("{src:?} failed: {e}"),
    }
}

fn parse_err(src: &str) -> ParseError {
    match parse_filter(src) {
        Ok(e) => panic!("{src:?} should fail, got {e:?}"),
        Err(e) => e,
    }
}

fn check_table(cases: &[(&str, &str)]) {
    for (src, want) in cases {
        assert_eq!(parse(src), *want, "input: {src:?}");
    }
}

fn cmp(src: &str) -> Comparison {
    match parse_filter(src) {
        Ok(Some(Expr::Cmp(c))) => c,
        other => panic!("{src:?} is not a single comparison: {other:?}"),
    }
}

#[test]
fn empty_input_is_no_filter() {
    for src in ["", "   ", "\t\n  \r\n", "// just a comment", "  // c\n  "] {
        assert_eq!(parse_filter(src), Ok(None), "input: {src:?}");
    }
}

#[test]
fn every_operator() {
    check_table(&[
        ("a = 1", "[id(a) = 1]"),
        ("a != 1", "[id(a) != 1]"),
        ("a > 1", "[id(a) > 1]"),
        ("a >= 1", "[id(a) >= 1]"),
        ("a < 1", "[id(a) < 1]"),
        ("a <= 1", "[id(a) <= 1]"),
        ("a ~ 1", "[id(a) ~ 1]"),
        ("a !~ 1", "[id(a) !~ 1]"),
        ("a ?= 1", "[id(a) ?= 1]"),
        ("a ?!= 1", "[id(a) ?!= 1]"),
        ("a ?> 1", "[id(a) ?> 1]"),
        ("a ?>= 1", "[id(a) ?>= 1]"),
        ("a ?< 1", "[id(a) ?< 1]"),
        ("a ?<= 1", "[id(a) ?<= 1]"),
        ("a ?~ 1", "[id(a) ?~ 1]"),
        ("a ?!~ 1", "[id(a) ?!~ 1]"),
        // No whitespace needed around operators.
        ("a=1", "[id(a) = 1]"),
        ("a?!~'x'", "[id(a) ?!~ \"x\"]"),
        ("a>=-1", "[id(a) >= -1]"),
    ]);
}

#[test]
fn operator_kinds_and_any_flag() {
    let cases = [
        ("=", OpKind::Eq),
        ("!=", OpKind::Neq),
        (">", OpKind::Gt),
        (">=", OpKind::Gte),
        ("<", OpKind::Lt),
        ("<=", OpKind::Lte),
        ("~", OpKind::Like),
        ("!~", OpKind::NotLike),
    ];
    for (text, kind) in cases {
        for any in [false, true] {
            let src = format!("a {}{text} b", if any { "?" } else { "" });
            assert_eq!(cmp(&src).op, Op { kind, any }, "input: {src:?}");
        }
    }
}

#[test]
fn precedence_and_associativity() {
    check_table(&[
        (
            "a=1 || b=2 && c=3",
            "(or [id(a) = 1] (and [id(b) = 2] [id(c) = 3]))",
        ),
        (
            "a=1 && b=2 || c=3",
            "(or (and [id(a) = 1] [id(b) = 2]) [id(c) = 3])",
        ),
        (
            "a=1 && b=2 && c=3",
            "(and (and [id(a) = 1] [id(b) = 2]) [id(c) = 3])",
        ),
        (
            "a=1 || b=2 || c=3",
            "(or (or [id(a) = 1] [id(b) = 2]) [id(c) = 3])",
        ),
    ]);
}

#[test]
fn parentheses() {
    check_table(&[
        ("(a=1)", "[id(a) = 1]"),
        ("((a=1))", "[id(a) = 1]"),
        (
            "(a=1 || b=2) && c=3",
            "(and (or [id(a) = 1] [id(b) = 2]) [id(c) = 3])",
        ),
        (
            "a=1 && (b=2 || (c=3 && d=4))",
            "(and [id(a) = 1] (or [id(b) = 2] (and [id(c) = 3] [id(d) = 4])))",
        ),
        (
            "(a=1&&b=2)||(c=3&&d=4)",
            "(or (and [id(a) = 1] [id(b) = 2]) (and [id(c) = 3] [id(d) = 4]))",
        ),
    ]);
}

#[test]
fn whitespace_and_comments_between_tokens() {
    check_table(&[
        ("\n\ta\n=\t1\n", "[id(a) = 1]"),
        (
            "a = 1 // first\n&& b = 2 // second",
            "(and [id(a) = 1] [id(b) = 2])",
        ),
        (
            "a = 'x // not a comment'",
            "[id(a) = \"x // not a comment\"]",
        ),
        ("a\r\n=\r\n1", "[id(a) = 1]"),
    ]);
}

#[test]
fn strings_and_escapes() {
    check_table(&[
        ("a = 'hello'", "[id(a) = \"hello\"]"),
        ("a = \"hello\"", "[id(a) = \"hello\"]"),
        ("a = ''", "[id(a) = \"\"]"),
        (r"a = 'it\'s'", "[id(a) = \"it's\"]"),
        (r#"a = "say \"hi\"""#, "[id(a) = \"say \\\"hi\\\"\"]"),
        (r"a = 'back\\slash'", "[id(a) = \"back\\\\slash\"]"),
        (r"a = 'new\nline'", "[id(a) = \"new\\nline\"]"),
        (
            r"a = 'unknown \y escape'",
            "[id(a) = \"unknown \\\\y escape\"]",
        ),
        (r"a = 'ends with \\'", "[id(a) = \"ends with \\\\\"]"),
        (r#"a = "mixed 'quotes'""#, "[id(a) = \"mixed 'quotes'\"]"),
        (
            r#"a = 'mixed "quotes"'"#,
            "[id(a) = \"mixed \\\"quotes\\\"\"]",
        ),
        ("a = 'ünïcødé ✓'", "[id(a) = \"ünïcødé ✓\"]"),
        ("a = 'a && b || (c)'", "[id(a) = \"a && b || (c)\"]"),
    ]);
}

#[test]
fn numbers() {
    let cases = [
        ("a = 0", 0.0),
        ("a = 42", 42.0),
        ("a = 007", 7.0),
        ("a = 1.5", 1.5),
        ("a = 10.50", 10.5),
        ("a = -5", -5.0),
        ("a = -1.5", -1.5),
        ("a = 123456789012", 123456789012.0),
    ];
    for (src, want) in cases {
        match cmp(src).right {
            Operand::Num(n, _) => assert_eq!(n, want, "input: {src:?}"),
            other => panic!("{src:?}: expected number, got {other:?}"),
        }
    }
}

#[test]
fn literals_null_and_bool() {
    check_table(&[
        ("a = null", "[id(a) = null]"),
        ("a != NULL", "[id(a) != null]"),
        ("a = true", "[id(a) = true]"),
        ("a = false", "[id(a) = false]"),
        ("a = True", "[id(a) = true]"),
        ("null = a", "[null = id(a)]"),
        // Literal on both sides is allowed (PocketBase uses it for "always true" rules).
        ("1 = 1", "[1 = 1]"),
        ("'a' = 'a'", "[\"a\" = \"a\"]"),
        ("true != false", "[true != false]"),
        // Only the whole word is a literal.
        ("nullable = 1", "[id(nullable) = 1]"),
        ("a.null = 1", "[id(a.null) = 1]"),
        ("true_flag = 1", "[id(true_flag) = 1]"),
    ]);
}

#[test]
fn params() {
    check_table(&[
        ("a = {:name}", "[id(a) = {:name}]"),
        ("{:x_1} > a", "[{:x_1} > id(a)]"),
        (
            "a >= {:min} && a <= {:max}",
            "(and [id(a) >= {:min}] [id(a) <= {:max}])",
        ),
        ("a = {:9}", "[id(a) = {:9}]"),
    ]);
}

#[test]
fn identifiers_modifiers_and_aliases() {
    check_table(&[
        ("title = 1", "[id(title) = 1]"),
        ("author.name = 1", "[id(author.name) = 1]"),
        ("@request.auth.id = 1", "[id(@request.auth.id) = 1]"),
        ("@now > 1", "[id(@now) > 1]"),
        ("_under_score = 1", "[id(_under_score) = 1]"),
        ("field2 = 1", "[id(field2) = 1]"),
        ("tags:length > 1", "[id(tags|length) > 1]"),
        (
            "@request.body.title:isset = true",
            "[id(@request.body.title|isset) = true]",
        ),
        (
            "@request.body.title:changed = true",
            "[id(@request.body.title|changed) = true]",
        ),
        ("tags:each ~ 'x'", "[id(tags|each) ~ \"x\"]"),
        ("title:lower = 'x'", "[id(title|lower) = \"x\"]"),
        (
            "@collection.users:u.name = 1",
            "[id(@collection.users:u.name) = 1]",
        ),
        (
            "@collection.users:u.tags:length = 1",
            "[id(@collection.users:u.tags|length) = 1]",
        ),
        // Unknown suffixes stay in the segment verbatim.
        ("a:unknown = 1", "[id(a:unknown) = 1]"),
        (
            "@collection.users:length = 1",
            "[id(@collection.users|length) = 1]",
        ),
    ]);
}

#[test]
fn ident_structure() {
    let c = cmp("@collection.users:u.name = 1");
    let Operand::Ident(i) = c.left else {
        panic!("expected ident");
    };
    assert_eq!(i.path, ["@collection", "users:u", "name"]);
    assert_eq!(i.modifier, None);
    assert_eq!(i.span, Span { start: 0, end: 24 });

    let c = cmp("x = tags:length");
    let Operand::Ident(i) = c.right else {
        panic!("expected ident");
    };
    assert_eq!(i.path, ["tags"]);
    assert_eq!(i.modifier, Some(Modifier::Length));
    assert_eq!(i.span, Span { start: 4, end: 15 });
}

#[test]
fn functions() {
    check_table(&[
        (
            "strftime('%Y-%m', created) = '2024-01'",
            "[strftime(\"%Y-%m\", id(created)) = \"2024-01\"]",
        ),
        (
            "geoDistance(lon, lat, 1.5, -2) < 25",
            "[geoDistance(id(lon), id(lat), 1.5, -2) < 25]",
        ),
        ("f() = 1", "[f() = 1]"),
        ("f( a , {:p} ,null ) = 1", "[f(id(a), {:p}, null) = 1]"),
        (
            "a = outer(inner(x), 'y')",
            "[id(a) = outer(inner(id(x)), \"y\")]",
        ),
        ("(f(a) = 1)", "[f(id(a)) = 1]"),
        // A space before '(' means it is not a call.
        ("a = 1 && (b = 2)", "(and [id(a) = 1] [id(b) = 2])"),
    ]);
}

#[test]
fn spans() {
    let c = cmp("  title  =  'x'  ");
    assert_eq!(c.span, Span { start: 2, end: 15 });
    assert_eq!(c.left.span(), Span { start: 2, end: 7 });
    assert_eq!(c.right.span(), Span { start: 12, end: 15 });

    let c = cmp("geoDistance(a, b) <= -1.5");
    assert_eq!(c.left.span(), Span { start: 0, end: 17 });
    assert_eq!(c.right.span(), Span { start: 21, end: 25 });
    assert_eq!(c.span, Span { start: 0, end: 25 });

    let c = cmp("{:p} = null");
    assert_eq!(c.left.span(), Span { start: 0, end: 4 });
    assert_eq!(c.right.span(), Span { start: 7, end: 11 });

    // Spans are byte offsets, so multi-byte text shifts later positions.
    let c = cmp("'é' = a");
    assert_eq!(c.left.span(), Span { start: 0, end: 4 });
    assert_eq!(c.right.span(), Span { start: 7, end: 8 });
}

#[test]
fn error_positions() {
    let cases: &[(&str, usize, &str)] = &[
        // Unexpected end of input points at the end.
        ("a", 1, "end of input"),
        ("a =", 3, "end of input"),
        ("a = 1 &&", 8, "end of input"),
        ("a = 1 || ", 9, "end of input"),
        ("f(a", 3, "end of input"),
        ("f(a,", 4, "end of input"),
        // Unterminated strings point at the opening quote.
        ("a = 'abc", 4, "unterminated string"),
        ("a = \"abc'", 4, "unterminated string"),
        (r"a = 'abc\'", 4, "unterminated string"),
        (r"a = 'abc\", 4, "unterminated string"),
        // Unknown characters.
        ("a = $", 4, "unexpected character"),
        ("a # 1", 2, "unexpected character"),
        ("a = 1 & b = 2", 6, "did you mean '&&'"),
        ("a = 1 | b = 2", 6, "did you mean '||'"),
        ("a = é", 4, "unexpected character"),
        ("a / b", 2, "unexpected character"),
        ("a ! b", 2, "invalid operator"),
        ("a ? b", 2, "invalid operator"),
        ("a = -", 4, "unexpected character"),
        // Malformed literals.
        ("a = 1.", 4, "invalid number"),
        ("a = 12abc", 4, "invalid number"),
        ("a = 1.2.3", 4, "invalid number"),
        ("a = {name}", 4, "invalid placeholder"),
        ("a = {:}", 4, "invalid placeholder"),
        ("a = {:a-b}", 4, "invalid placeholder"),
        ("a = {:abc", 4, "invalid placeholder"),
        ("a. = 1", 0, "invalid identifier"),
        ("a..b = 1", 0, "invalid identifier"),
        ("x = a:", 4, "invalid identifier"),
        ("@ = 1", 0, "invalid identifier"),
        // Missing operator.
        ("a 1", 2, "comparison operator"),
        ("a b = 1", 2, "comparison operator"),
        ("(a) = 1", 2, "comparison operator"),
        // Missing right operand.
        ("a = && b = 1", 4, "right operand"),
        ("a = )", 4, "right operand"),
        ("a == 1", 3, "right operand"),
        // Unbalanced parentheses.
        ("(a = 1", 6, "')' to close '(' at position 0"),
        ("((a = 1)", 8, "')' to close '(' at position 0"),
        ("a = 1)", 5, "unmatched ')'"),
        ("(a = 1))", 7, "unmatched ')'"),
        ("(a = 1 b", 7, "expected ')'"),
        // Empty parentheses point at the ')'.
        ("()", 1, "empty parentheses"),
        ("a = 1 && ( )", 11, "empty parentheses"),
        // Trailing tokens.
        ("a = 1 b", 6, "unexpected 'b'"),
        ("a = 1 'x'", 6, "unexpected"),
        ("a = 1 (b = 2)", 6, "unexpected"),
        // Dangling or doubled joins.
        ("&& a = 1", 0, "expected an expression"),
        ("a = 1 && && b = 2", 9, "expected an expression"),
        ("a = 1 || && b = 2", 9, "expected an expression"),
        // Bad function calls.
        ("f(a b) = 1", 4, "expected ',' or ')'"),
        ("f(,) = 1", 2, "function argument"),
        ("f(a,) = 1", 4, "function argument"),
        ("a = true(1)", 8, "unexpected"),
    ];
    for (src, position, msg) in cases {
        let err = parse_err(src);
        assert_eq!(err.position, *position, "input: {src:?}, error: {err}");
        assert!(
            err.message.contains(msg),
            "input: {src:?}: message {:?} should contain {msg:?}",
            err.message
        );
    }
}

#[test]
fn error_display() {
    let err = parse_err("a = 'x");
    assert_eq!(err.to_string(), "unterminated string at position 4");
    let boxed: Box<dyn std::error::Error> = Box::new(err);
    assert!(boxed.to_string().ends_with("at position 4"));
}

#[test]
fn filter_length_limit() {
    let pad = |n: usize| format!("a = '{}'", "x".repeat(n - 6));
    assert!(parse_filter(&pad(MAX_FILTER_LENGTH)).is_ok());
    let err = parse_err(&pad(MAX_FILTER_LENGTH + 1));
    assert_eq!(err.position, MAX_FILTER_LENGTH);
    assert!(err.message.contains("too long"));
}

#[test]
fn filter_expression_limit() {
    let join = |n: usize| vec!["a=1"; n].join("&&");
    assert!(parse_filter(&join(MAX_FILTER_EXPRS)).is_ok());
    let src = join(MAX_FILTER_EXPRS + 1);
    let err = parse_err(&src);
    // Points at the first comparison over the limit.
    assert_eq!(err.position, MAX_FILTER_EXPRS * 5);
    assert!(err.message.contains("too many expressions"));
}

#[test]
fn deep_nesting_within_length_limit() {
    let depth = (MAX_FILTER_LENGTH - 3) / 2;
    let src = format!("{}a=1{}", "(".repeat(depth), ")".repeat(depth));
    assert!(src.len() <= MAX_FILTER_LENGTH);
    assert_eq!(parse(&src), "[id(a) = 1]");
}

fn sort_str(src: &str) -> Vec<String> {
    match parse_sort(src) {
        Ok(terms) => terms
            .iter()
            .map(|t| format!("{}{}", if t.desc { "-" } else { "+" }, ident_str(&t.ident)))
            .collect(),
        Err(e) => panic!("{src:?} failed: {e}"),
    }
}

#[test]
fn sort_terms() {
    let cases: &[(&str, &[&str])] = &[
        ("", &[]),
        ("   ", &[]),
        ("created", &["+id(created)"]),
        ("category,-views", &["+id(category)", "-id(views)"]),
        ("+title, -created ", &["+id(title)", "-id(created)"]),
        ("-@random", &["-id(@random)"]),
        ("@rowid", &["+id(@rowid)"]),
        ("author.name", &["+id(author.name)"]),
        ("tags:length", &["+id(tags|length)"]),
        (
            "@collection.users:u.name",
            &["+id(@collection.users:u.name)"],
        ),
    ];
    for (src, want) in cases {
        assert_eq!(sort_str(src), *want, "input: {src:?}");
    }
}

#[test]
fn sort_ident_spans() {
    let terms = match parse_sort("a, -bc") {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(terms[0].ident.span, Span { start: 0, end: 1 });
    assert_eq!(terms[1].ident.span, Span { start: 4, end: 6 });
}

#[test]
fn sort_errors() {
    let cases: &[(&str, usize, &str)] = &[
        ("-", 1, "expected a sort field"),
        ("a,-", 3, "expected a sort field"),
        ("a b", 2, "unexpected 'b'"),
        ("a,,b", 2, "empty sort field"),
        ("a,", 2, "empty sort field"),
        (",a", 0, "empty sort field"),
        ("- a", 1, "expected a sort field"),
        ("--a", 1, "unexpected character"),
        ("'a'", 0, "expected a sort field"),
        ("null", 0, "expected a sort field"),
        ("-5", 1, "expected a sort field"),
        ("f(a)", 0, "expected a sort field"),
        ("a.", 0, "invalid identifier"),
        ("a$", 1, "unexpected character"),
        ("a // c", 1, "unexpected text"),
    ];
    for (src, position, msg) in cases {
        let err = match parse_sort(src) {
            Ok(t) => panic!("{src:?} should fail, got {t:?}"),
            Err(e) => e,
        };
        assert_eq!(err.position, *position, "input: {src:?}, error: {err}");
        assert!(
            err.message.contains(msg),
            "input: {src:?}: message {:?} should contain {msg:?}",
            err.message
        );
    }
}

#[test]
fn sort_limits() {
    let terms = |n: usize| vec!["a"; n].join(",");
    assert_eq!(sort_str(&terms(MAX_SORT_TERMS)).len(), MAX_SORT_TERMS);
    let err = match parse_sort(&terms(MAX_SORT_TERMS + 1)) {
        Ok(t) => panic!("should fail, got {t:?}"),
        Err(e) => e,
    };
    assert_eq!(err.position, MAX_SORT_TERMS * 2);
    assert!(err.message.contains("too many sort fields"));

    let long = "a".repeat(MAX_SORT_FIELD_LENGTH);
    assert_eq!(sort_str(&format!("-{long}")).len(), 1);
    let err = match parse_sort(&format!("x,-{long}a")) {
        Ok(t) => panic!("should fail, got {t:?}"),
        Err(e) => e,
    };
    assert_eq!(err.position, 3);
    assert!(err.message.contains("too long"));
}

#[test]
fn function_nesting_limit() {
    assert_eq!(parse("a(b(c(x))) = 1"), "[a(b(c(id(x)))) = 1]");
    let err = parse_err("a(b(c(d(x)))) = 1");
    assert_eq!(err.position, 6);
    assert!(err.message.contains("too deeply nested"));
}
