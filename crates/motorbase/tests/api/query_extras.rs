//! Query extras: `fields` over expanded records and excerpts, `@random`, the date macros,
//! `strftime()`, and geoPoint fields with `geoDistance()` (checked against PocketBase 0.40.6).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::common::{item_values, with_query, Case, TestApp};

fn open(name: &str, fields: Value) -> Value {
    json!({
        "name": name, "type": "base",
        "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": fields
    })
}

/// Three places: Rome (long ago), Paris (far in the future) and New York (no date).
async fn places(app: &TestApp) {
    app.create_collection(open(
        "places",
        json!([
            {"name": "name", "type": "text"},
            {"name": "about", "type": "editor"},
            {"name": "loc", "type": "geoPoint"},
            {"name": "when", "type": "date"},
            {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1}
        ]),
    ))
    .await;
    app.create_record(
        "users",
        json!({"id": "owner0000000001", "email": "owner@example.com", "password": "Password123",
               "passwordConfirm": "Password123", "name": "Olga"}),
    )
    .await;
    for (id, name, lon, lat, when) in [
        (
            "place0000000rom",
            "Rome",
            12.4964,
            41.9028,
            "2001-02-03 04:05:06.000Z",
        ),
        (
            "place0000000par",
            "Paris",
            2.3522,
            48.8566,
            "2099-12-31 23:59:59.000Z",
        ),
        ("place0000000nyc", "New York", -74.006, 40.7128, ""),
    ] {
        app.create_record(
            "places",
            json!({"id": id, "name": name, "loc": {"lon": lon, "lat": lat}, "when": when,
                   "owner": "owner0000000001",
                   "about": format!("<p>Welcome to <b>{name}</b>, a lovely   city.</p>")}),
        )
        .await;
    }
}

fn ids(values: &[&str]) -> Value {
    Value::Array(values.iter().map(|id| json!({"id": id})).collect())
}

fn filtered(name: &'static str, filter: &str, expected: &[&str]) -> Case {
    Case::get(
        name,
        with_query(
            "/api/collections/places/records",
            &[("filter", filter), ("fields", "id"), ("sort", "name")],
        ),
    )
    .superuser()
    .expect(200, json!({"items": ids(expected)}))
}

const NYC: &str = "place0000000nyc";
const PAR: &str = "place0000000par";
const ROM: &str = "place0000000rom";

#[tokio::test]
async fn geo_points_and_distances() {
    let app = TestApp::spawn().await;
    places(&app).await;
    app.run(&[
        filtered(
            "near Rome",
            "geoDistance(loc.lon, loc.lat, 12.4964, 41.9028) < 100",
            &[ROM],
        ),
        filtered(
            "Rome and Paris are 1106 km apart",
            "geoDistance(loc.lon, loc.lat, 12.4964, 41.9028) < 1200",
            &[PAR, ROM],
        ),
        filtered(
            "arguments either way round",
            "geoDistance(2.3522, 48.8566, loc.lon, loc.lat) > 1000",
            &[NYC, ROM],
        ),
        filtered(
            "through a relation back to the same collection",
            "geoDistance(owner.places_via_owner.loc.lon, owner.places_via_owner.loc.lat, -74.006, 40.7128) < 1",
            &[NYC, PAR, ROM],
        ),
        filtered("a point's parts", "loc.lat > 45 || loc.lon < 0", &[NYC, PAR]),
        Case::get(
            "geoDistance() takes four arguments",
            with_query(
                "/api/collections/places/records",
                &[("filter", "geoDistance(loc.lon, loc.lat, 1) < 5")],
            ),
        )
        .superuser()
        .status(400),
        Case::get(
            "geoDistance() takes numbers or fields",
            with_query(
                "/api/collections/places/records",
                &[("filter", "geoDistance(loc.lon, loc.lat, '1', 2) < 5")],
            ),
        )
        .superuser()
        .status(400),
    ])
    .await;
}

#[tokio::test]
async fn date_macros_and_strftime() {
    let app = TestApp::spawn().await;
    places(&app).await;
    let mut cases = vec![];
    for m in [
        "@now",
        "@yesterday",
        "@tomorrow",
        "@todayStart",
        "@todayEnd",
        "@monthStart",
        "@monthEnd",
        "@yearStart",
        "@yearEnd",
    ] {
        cases.push(filtered(
            "past dates",
            &format!("when != '' && when < {m}"),
            &[ROM],
        ));
        cases.push(filtered("future dates", &format!("when > {m}"), &[PAR]));
    }
    for (m, low, high) in [
        ("@second", 0, 59),
        ("@minute", 0, 59),
        ("@hour", 0, 23),
        ("@day", 1, 31),
        ("@weekday", 0, 6),
        ("@month", 1, 12),
        ("@year", 2025, 2200),
    ] {
        cases.push(filtered(
            "a number in its range",
            &format!("{m} >= {low} && {m} <= {high} && name = 'Rome'"),
            &[ROM],
        ));
    }
    cases.extend([
        filtered("strftime year", "strftime('%Y', when) = '2001'", &[ROM]),
        filtered(
            "strftime with a modifier",
            "strftime('%Y-%m-%d', when, '+1 day') = '2100-01-01'",
            &[PAR],
        ),
        filtered(
            "strftime of a macro",
            "strftime('%Y', when) < strftime('%Y', @now)",
            &[ROM],
        ),
        filtered(
            "strftime of now alone",
            "strftime('%Y') > '2000'",
            &[NYC, PAR, ROM],
        ),
        filtered(
            "an empty date is no date",
            "strftime('%Y', when) = ''",
            &[NYC],
        ),
        Case::get(
            "strftime needs a format string first",
            with_query(
                "/api/collections/places/records",
                &[("filter", "strftime(when) = ''")],
            ),
        )
        .superuser()
        .status(400),
    ]);
    app.run(&cases).await;
}

#[tokio::test]
async fn fields_excerpts_and_random_order() {
    let app = TestApp::spawn().await;
    places(&app).await;
    let rome = "/api/collections/places/records/place0000000rom";
    app.run(&[
        Case::get(
            "excerpt of an editor field, with the expanded owner's name",
            with_query(
                rome,
                &[
                    ("expand", "owner"),
                    ("fields", "about:excerpt(16,true),expand.owner.name"),
                ],
            ),
        )
        .superuser()
        .expect(
            200,
            json!({"about": "Welcome to Rome,...", "expand": {"owner": {"name": "Olga"}}}),
        )
        .absent(&["id", "email"]),
        Case::get(
            "everything of the expanded record",
            with_query(rome, &[("expand", "owner"), ("fields", "name,expand.*")]),
        )
        .superuser()
        .expect(
            200,
            json!({"name": "Rome", "expand": {"owner": {"id": "owner0000000001", "name": "Olga"}}}),
        )
        .absent(&["about"]),
        Case::get(
            "an excerpt without ellipsis",
            with_query(rome, &[("fields", "about:excerpt(7)")]),
        )
        .superuser()
        .expect(200, json!({"about": "Welcome"})),
    ])
    .await;
    let token = app.superuser_token().await;
    let (status, body) = app
        .get(
            "/api/collections/places/records?sort=@random&fields=id",
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let got: BTreeSet<&str> = item_values(&body, "id")
        .into_iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(got, BTreeSet::from([NYC, PAR, ROM]));
}
