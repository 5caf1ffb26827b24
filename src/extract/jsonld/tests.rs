//! Tests of the JSON-LD reader.
use super::*;

const PAGE: &str = "https://boutique.example.fr/fr/chaussures/basket-42.html?ref=x";

fn page() -> Url {
    Url::parse(PAGE).unwrap()
}

fn run_with(blocks: &[&str], default: Option<Currency>) -> JsonLdOutcome {
    let blocks: Vec<String> = blocks.iter().map(|s| s.to_string()).collect();
    let out = offers_from_jsonld(&blocks, &page(), default);
    assert_eq!(out.blocks_parsed + out.blocks_failed, blocks.len());
    for o in &out.offers {
        assert_eq!(o.source, Some(Source::JsonLd));
        assert!(o.url.as_deref().is_some_and(|u| u.starts_with("http")));
    }
    out
}

fn run(blocks: &[&str]) -> JsonLdOutcome {
    run_with(blocks, Some(Currency::EUR))
}

fn one(out: &JsonLdOutcome) -> &ExtractedOffer {
    assert_eq!(out.offers.len(), 1, "{out:#?}");
    &out.offers[0]
}

fn eur(minor: i64) -> Option<Money> {
    Some(Money::new(minor, Currency::EUR))
}

fn has_warning(ws: &[String], needle: &str) -> bool {
    ws.iter().any(|w| w.contains(needle))
}

fn price_of(json_price: &str) -> Option<Money> {
    let block = format!(
        r#"{{"@type":"Product","name":"P","offers":{{"@type":"Offer","price":{json_price},"priceCurrency":"EUR"}}}}"#
    );
    one(&run(&[&block])).price
}

// ----- shapes -------------------------------------------------------

#[test]
fn plain_product_with_one_offer() {
    let out = run(&[r#"{
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "  Basket   Runner 42 ",
        "brand": "Maison Lumière",
        "sku": "BR-42",
        "gtin13": "3017620422003",
        "offers": {
            "@type": "Offer",
            "price": "129.90",
            "priceCurrency": "EUR",
            "availability": "http://schema.org/InStock"
        }
    }"#]);
    let o = one(&out);
    assert_eq!(o.name.as_deref(), Some("Basket Runner 42"));
    assert_eq!(o.brand.as_deref(), Some("Maison Lumière"));
    assert_eq!(o.sku.as_deref(), Some("BR-42"));
    assert_eq!(o.gtin.as_deref(), Some("3017620422003"));
    assert_eq!(o.price, eur(12990));
    assert_eq!(o.reference_price, None);
    assert_eq!(o.availability.as_deref(), Some("InStock"));
    assert_eq!(o.url.as_deref(), Some(PAGE));
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
    assert_eq!((out.blocks_parsed, out.blocks_failed), (1, 0));
    assert!(out.warnings.is_empty());
}

#[test]
fn top_level_array() {
    let out = run(&[r#"[
        {"@type":"BreadcrumbList","itemListElement":[]},
        {"@type":"Product","name":"A","offers":{"price":"10.00","priceCurrency":"EUR"}}
    ]"#]);
    assert_eq!(one(&out).price, eur(1000));
}

#[test]
fn type_as_array_and_with_prefixes() {
    let out = run(&[
        r#"{"@type":["Product","Thing"],"name":"A","offers":{"@type":"Offer","price":"1.00","priceCurrency":"EUR"}}"#,
        r#"{"@type":"schema:Product","name":"B","offers":{"@type":"schema:Offer","price":"2.00","priceCurrency":"EUR"}}"#,
        r#"{"@type":"http://schema.org/Product","name":"C","offers":{"@type":"https://schema.org/Offer","price":"3.00","priceCurrency":"EUR"}}"#,
        r#"{"@type":["http://schema.org/Product"],"name":"D","offers":[{"@type":["Offer"],"price":"4.00","priceCurrency":"EUR"}]}"#,
    ]);
    let prices: Vec<_> = out.offers.iter().map(|o| o.price).collect();
    assert_eq!(prices, vec![eur(100), eur(200), eur(300), eur(400)]);
}

#[test]
fn prefixed_keys_are_read() {
    let out = run(&[r#"{"@type":"schema:Product","schema:name":"Lampe",
        "schema:offers":{"@type":"schema:Offer","schema:price":"45.00","schema:priceCurrency":"EUR"}}"#]);
    let o = one(&out);
    assert_eq!(o.name.as_deref(), Some("Lampe"));
    assert_eq!(o.price, eur(4500));
}

#[test]
fn product_under_webpage_main_entity() {
    let out = run(&[r#"{"@type":"WebPage","name":"Page","mainEntity":{
        "@type":"Product","name":"Sac","offers":{"@type":"Offer","price":"59","priceCurrency":"EUR"}}}"#]);
    let o = one(&out);
    assert_eq!(o.name.as_deref(), Some("Sac"));
    assert_eq!(o.price, eur(5900));
}

#[test]
fn products_of_an_item_list() {
    let out = run(&[r#"{"@type":"ItemList","itemListElement":[
        {"@type":"ListItem","position":1,"item":{"@type":"Product","name":"Un","offers":{"price":"1.50","priceCurrency":"EUR"}}},
        {"@type":"ListItem","position":2,"item":{"@type":"Product","name":"Deux","offers":{"price":"2.50","priceCurrency":"EUR"}}},
        {"@type":"ListItem","position":3,"url":"https://boutique.example.fr/trois"}
    ]}"#]);
    let names: Vec<_> = out.offers.iter().map(|o| o.name.as_deref()).collect();
    assert_eq!(names, vec![Some("Un"), Some("Deux")]);
}

#[test]
fn related_products_inside_a_product_are_not_this_page() {
    let out = run(&[
        r#"{"@type":"Product","name":"Main","offers":{"price":"10","priceCurrency":"EUR"},
        "isRelatedTo":[{"@type":"Product","name":"Other","offers":{"price":"5","priceCurrency":"EUR"}}]}"#,
    ]);
    assert_eq!(one(&out).name.as_deref(), Some("Main"));
}

#[test]
fn non_product_types_are_ignored() {
    let out = run(&[
        r#"{"@context":"https://schema.org","@type":"BreadcrumbList","itemListElement":[
            {"@type":"ListItem","position":1,"name":"Accueil","item":"https://boutique.example.fr/"},
            {"@type":"ListItem","position":2,"name":"Chaussures","item":{"@id":"https://boutique.example.fr/fr/chaussures","name":"Chaussures"}}]}"#,
        r#"{"@context":"https://schema.org","@type":"Organization","name":"Boutique","url":"https://boutique.example.fr",
            "logo":"https://boutique.example.fr/logo.png","contactPoint":{"@type":"ContactPoint","telephone":"+33 1 23 45 67 89"}}"#,
        r#"{"@type":"WebSite","url":"https://boutique.example.fr","potentialAction":{"@type":"SearchAction","target":"https://boutique.example.fr/search?q={q}"}}"#,
    ]);
    assert!(out.offers.is_empty());
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert_eq!(out.blocks_parsed, 3);
}

#[test]
fn product_without_offers_gives_a_warning_and_no_offer() {
    let out = run(&[r#"{"@type":"Product","name":"Sans prix"}"#]);
    assert!(out.offers.is_empty());
    assert!(has_warning(&out.warnings, "`Sans prix` has no offers"));
}

#[test]
fn price_on_the_product_itself_is_read_with_a_warning() {
    let out = run(&[r#"{"@type":"Product","name":"X","price":"12.00","priceCurrency":"EUR"}"#]);
    let o = one(&out);
    assert_eq!(o.price, eur(1200));
    assert!(has_warning(&o.warnings, "on the product itself"));
}

// ----- platforms ----------------------------------------------------

#[test]
fn shopify_offers_array_one_per_variant() {
    let out = run(&[r#"{
      "@context": "http://schema.org/",
      "@type": "Product",
      "name": "T-shirt Coton Bio",
      "url": "https://boutique.example.fr/products/t-shirt-coton-bio",
      "image": ["https://cdn.shopify.com/s/files/1/t.jpg"],
      "description": "Un t-shirt.",
      "sku": "TS-BIO-S",
      "brand": {"@type": "Brand", "name": "Atelier Nord"},
      "offers": [
        {"@type":"Offer","sku":"TS-BIO-S","gtin13":"3760000000011","availability":"http://schema.org/InStock",
         "price":29.9,"priceCurrency":"EUR","url":"https://boutique.example.fr/products/t-shirt-coton-bio?variant=401"},
        {"@type":"Offer","sku":"TS-BIO-M","gtin13":"3760000000028","availability":"http://schema.org/InStock",
         "price":29.9,"priceCurrency":"EUR","url":"https://boutique.example.fr/products/t-shirt-coton-bio?variant=402"},
        {"@type":"Offer","sku":"TS-BIO-L","gtin13":"3760000000035","availability":"http://schema.org/OutOfStock",
         "price":34,"priceCurrency":"EUR","url":"https://boutique.example.fr/products/t-shirt-coton-bio?variant=403"}
      ]
    }"#]);
    assert_eq!(out.offers.len(), 3);
    let skus: Vec<_> = out.offers.iter().map(|o| o.sku.as_deref()).collect();
    assert_eq!(
        skus,
        vec![Some("TS-BIO-S"), Some("TS-BIO-M"), Some("TS-BIO-L")]
    );
    assert_eq!(out.offers[0].price, eur(2990));
    assert_eq!(out.offers[2].price, eur(3400));
    assert_eq!(out.offers[2].availability.as_deref(), Some("OutOfStock"));
    assert_eq!(out.offers[1].gtin.as_deref(), Some("3760000000028"));
    assert_eq!(
        out.offers[1].url.as_deref(),
        Some("https://boutique.example.fr/products/t-shirt-coton-bio?variant=402")
    );
    assert!(
        out.offers
            .iter()
            .all(|o| o.brand.as_deref() == Some("Atelier Nord"))
    );
    assert!(
        out.offers
            .iter()
            .all(|o| o.name.as_deref() == Some("T-shirt Coton Bio"))
    );
}

#[test]
fn woocommerce_yoast_graph() {
    let out = run(&[r#"{"@context":"https://schema.org","@graph":[
      {"@type":"WebPage","@id":"https://boutique.example.fr/produit/mug/","url":"https://boutique.example.fr/produit/mug/","name":"Mug - Boutique",
       "isPartOf":{"@id":"https://boutique.example.fr/#website"},"breadcrumb":{"@id":"https://boutique.example.fr/produit/mug/#breadcrumb"},
       "mainEntity":{"@id":"https://boutique.example.fr/produit/mug/#product"}},
      {"@type":"BreadcrumbList","@id":"https://boutique.example.fr/produit/mug/#breadcrumb","itemListElement":[{"@type":"ListItem","position":1,"name":"Accueil","item":"https://boutique.example.fr/"}]},
      {"@type":"WebSite","@id":"https://boutique.example.fr/#website","url":"https://boutique.example.fr/","name":"Boutique"},
      {"@type":"Product","@id":"https://boutique.example.fr/produit/mug/#product","name":"Mug &amp; sous-tasse",
       "url":"https://boutique.example.fr/produit/mug/","sku":"MUG-1","brand":{"@id":"https://boutique.example.fr/#brand"},
       "offers":[{"@type":"Offer","price":"18.00","priceValidUntil":"2026-12-31",
         "priceSpecification":[
           {"@type":"UnitPriceSpecification","price":"18.00","priceCurrency":"EUR","valueAddedTaxIncluded":true},
           {"@type":"UnitPriceSpecification","price":"24.00","priceCurrency":"EUR","priceType":"https://schema.org/ListPrice","valueAddedTaxIncluded":true}],
         "priceCurrency":"EUR","availability":"http://schema.org/InStock","url":"https://boutique.example.fr/produit/mug/",
         "seller":{"@type":"Organization","name":"Boutique","url":"https://boutique.example.fr"}}]},
      {"@type":"Brand","@id":"https://boutique.example.fr/#brand","name":"Faïencerie"}
    ]}"#]);
    let o = one(&out);
    assert_eq!(o.name.as_deref(), Some("Mug & sous-tasse"));
    assert_eq!(o.brand.as_deref(), Some("Faïencerie"));
    assert_eq!(o.price, eur(1800));
    assert_eq!(o.reference_price, eur(2400));
    assert_eq!(o.reference_kind, Some(ReferenceKind::List));
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn prestashop_like_blocks() {
    let out = run(&[
        r#"{"@context":"https://schema.org","@type":"Organization","name":"Ma boutique","url":"https://boutique.example.fr/"}"#,
        r#"{"@context":"https://schema.org","@type":"BreadcrumbList","itemListElement":[{"@type":"ListItem","position":1,"name":"Accueil","item":"https://boutique.example.fr/"},]}"#,
        r#"
{
  "@context": "https://schema.org/",
  "@type": "Product",
  "name": "T-shirt imprim&eacute; colibri",
  "description": "Coupe classique, col rond.",
  "category": "Hommes",
  "image" :"https://boutique.example.fr/1-home_default/t-shirt.jpg",
  "sku": "demo_1",
  "mpn": "demo_1",
  "brand": {"@type": "Brand", "name": "Studio Design"},
  "weight": {"@context": "https://schema.org", "@type": "QuantitativeValue", "value": "0.300000", "unitCode": "kg"},
  "offers": {
    "@type": "Offer",
    "priceCurrency": "EUR",
    "name": "T-shirt imprim&eacute; colibri",
    "price": "23.52",
    "url": "/fr/hommes/1-1-t-shirt.html#/1-taille-s/8-couleur-blanc",
    "priceValidUntil": "2026-01-31",
    "image": ["https://boutique.example.fr/2-large_default/t-shirt.jpg"],
    "sku": "demo_1",
    "mpn": "demo_1",
    "availability": "https://schema.org/InStock",
    "seller": {"@type": "Organization", "name": "Ma boutique"}
  }
}
"#,
    ]);
    assert_eq!((out.blocks_parsed, out.blocks_failed), (3, 0));
    assert!(has_warning(&out.warnings, "block 2 of 3 is malformed"));
    let o = one(&out);
    assert_eq!(o.name.as_deref(), Some("T-shirt imprimé colibri"));
    assert_eq!(o.variant, None);
    assert_eq!(o.gtin.as_deref(), Some("demo_1"));
    assert_eq!(o.price, eur(2352));
    assert_eq!(
        o.url.as_deref(),
        Some("https://boutique.example.fr/fr/hommes/1-1-t-shirt.html#/1-taille-s/8-couleur-blanc")
    );
}

#[test]
fn magento_like_aggregate_offer() {
    let out = run(&[
        r#"{"@context":"http://schema.org","@type":"Product","name":"Veste",
        "sku":"VE-01","offers":{"@type":"AggregateOffer","lowPrice":"49.00","highPrice":"79.00",
        "priceCurrency":"EUR","offerCount":3,"availability":"http://schema.org/InStock"}}"#,
    ]);
    let o = one(&out);
    assert_eq!(o.price, eur(4900));
    assert_eq!(o.reference_price, None);
    assert_eq!(o.availability.as_deref(), Some("InStock"));
    assert!(has_warning(
        &o.warnings,
        "price range 49.00 EUR – 79.00 EUR"
    ));
}

#[test]
fn aggregate_offer_with_equal_bounds_has_no_warning() {
    let out = run(&[
        r#"{"@type":"Product","name":"V","offers":{"@type":"AggregateOffer","lowPrice":39.9,"highPrice":39.9,"priceCurrency":"EUR"}}"#,
    ]);
    let o = one(&out);
    assert_eq!(o.price, eur(3990));
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
}

#[test]
fn aggregate_offer_with_inner_offers_uses_them() {
    let out = run(&[
        r#"{"@type":"Product","name":"Chaise","offers":{"@type":"AggregateOffer",
        "lowPrice":"80","highPrice":"95","priceCurrency":"EUR","offers":[
          {"@type":"Offer","price":"80","sku":"CH-N","name":"Chaise - Noir"},
          {"@type":"Offer","price":"95","sku":"CH-C","name":"Chaise - Chêne",
           "priceSpecification":{"@type":"UnitPriceSpecification","priceType":"StrikethroughPrice","price":"120"}}]}}"#,
    ]);
    assert_eq!(out.offers.len(), 2);
    assert_eq!(out.offers[0].price, eur(8000));
    assert_eq!(out.offers[0].variant.as_deref(), Some("Noir"));
    assert_eq!(out.offers[1].variant.as_deref(), Some("Chêne"));
    assert_eq!(out.offers[1].reference_price, eur(12000));
    assert_eq!(
        out.offers[1].reference_kind,
        Some(ReferenceKind::Strikethrough)
    );
}

#[test]
fn product_group_with_three_sizes() {
    let out = run(&[
        r#"{"@context":"https://schema.org","@type":"ProductGroup","name":"Pull Marin",
        "brand":{"@type":"Brand","name":"Armor"},"productGroupID":"PM","variesBy":["https://schema.org/size"],
        "url":"/pull-marin",
        "hasVariant":[
          {"@type":"Product","sku":"PM-S","size":"S","offers":{"@type":"Offer","price":"89.00","priceCurrency":"EUR","url":"/pull-marin?taille=s"}},
          {"@type":"Product","sku":"PM-M","size":{"@type":"SizeSpecification","name":"M"},"offers":{"@type":"Offer","price":"89.00","priceCurrency":"EUR"}},
          {"@type":"Product","sku":"PM-L","name":"Pull Marin - L","size":"L","offers":{"@type":"Offer","price":"95.00","priceCurrency":"EUR",
            "priceSpecification":{"@type":"UnitPriceSpecification","priceType":"https://schema.org/StrikethroughPrice","price":"119.00","priceCurrency":"EUR"}}}
        ]}"#,
    ]);
    assert_eq!(out.offers.len(), 3, "{out:#?}");
    let v: Vec<_> = out.offers.iter().map(|o| o.variant.as_deref()).collect();
    assert_eq!(v, vec![Some("S"), Some("M"), Some("L")]);
    assert_eq!(out.offers[0].name.as_deref(), Some("Pull Marin"));
    assert_eq!(out.offers[2].name.as_deref(), Some("Pull Marin - L"));
    assert!(
        out.offers
            .iter()
            .all(|o| o.brand.as_deref() == Some("Armor"))
    );
    assert_eq!(
        out.offers[0].url.as_deref(),
        Some("https://boutique.example.fr/pull-marin?taille=s")
    );
    assert_eq!(
        out.offers[1].url.as_deref(),
        Some("https://boutique.example.fr/pull-marin")
    );
    assert_eq!(out.offers[2].price, eur(9500));
    assert_eq!(out.offers[2].reference_price, eur(11900));
}

#[test]
fn product_group_by_reference_and_is_variant_of() {
    // Google's second layout: variants stand alone in the graph and point at the group.
    let out = run(&[r##"{"@context":"https://schema.org","@graph":[
        {"@type":"ProductGroup","@id":"#g","name":"Robe Lin","brand":"Héloïse","variesBy":["color","size"],
         "hasVariant":[{"@id":"#v1"},{"@id":"#v2"}]},
        {"@type":"Product","@id":"#v1","isVariantOf":{"@id":"#g"},"color":"Bleu","size":"38","sku":"RL-B38",
         "offers":{"price":"120","priceCurrency":"EUR"}},
        {"@type":"Product","@id":"#v2","isVariantOf":{"@id":"#g"},"color":"Rouge","size":"40","sku":"RL-R40",
         "offers":{"price":"120","priceCurrency":"EUR"}}
    ]}"##]);
    assert_eq!(out.offers.len(), 2, "{out:#?}");
    assert_eq!(out.offers[0].variant.as_deref(), Some("Bleu / 38"));
    assert_eq!(out.offers[1].variant.as_deref(), Some("Rouge / 40"));
    assert!(
        out.offers
            .iter()
            .all(|o| o.name.as_deref() == Some("Robe Lin"))
    );
    assert!(
        out.offers
            .iter()
            .all(|o| o.brand.as_deref() == Some("Héloïse"))
    );
}

#[test]
fn group_named_only_by_is_variant_of_adds_nothing() {
    let out = run(&[r##"{"@graph":[
        {"@type":"ProductGroup","@id":"#g","name":"Gilet","variesBy":"size",
         "offers":{"@type":"AggregateOffer","lowPrice":"60","highPrice":"70","priceCurrency":"EUR"}},
        {"@type":"Product","isVariantOf":{"@id":"#g"},"size":"S","offers":{"price":"60","priceCurrency":"EUR"}},
        {"@type":"Product","isVariantOf":{"@id":"#g"},"size":"XL","offers":{"price":"70","priceCurrency":"EUR"}}
    ]}"##]);
    let v: Vec<_> = out.offers.iter().map(|o| o.variant.as_deref()).collect();
    assert_eq!(v, vec![Some("S"), Some("XL")]);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert!(out.offers.iter().all(|o| o.warnings.is_empty()));
}

#[test]
fn product_and_offer_naming_each_other_give_one_offer() {
    let out = run(&[r##"{"@graph":[
        {"@type":"Product","@id":"#p","name":"Théière","offers":{"@id":"#o"}},
        {"@type":"Offer","@id":"#o","itemOffered":{"@id":"#p"},"price":"42","priceCurrency":"EUR"}
    ]}"##]);
    assert_eq!(one(&out).price, eur(4200));
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn standalone_variant_inherits_from_its_group() {
    let out = run(&[
        r#"{"@type":"Product","isVariantOf":{"@type":"ProductGroup","name":"Bottes","brand":{"name":"Aigle"},
        "variesBy":"https://schema.org/color"},
        "additionalProperty":[{"@type":"PropertyValue","name":"color","value":"Kaki"}],
        "offers":{"price":"110","priceCurrency":"EUR"}}"#,
    ]);
    let o = one(&out);
    assert_eq!(o.name.as_deref(), Some("Bottes"));
    assert_eq!(o.brand.as_deref(), Some("Aigle"));
    assert_eq!(o.variant.as_deref(), Some("Kaki"));
}

#[test]
fn product_group_without_variant_offers_uses_its_own() {
    let out = run(&[
        r#"{"@type":"ProductGroup","name":"Table","hasVariant":[{"@type":"Product","size":"160"}],
        "offers":{"@type":"AggregateOffer","lowPrice":"300","highPrice":"300","priceCurrency":"EUR"}}"#,
    ]);
    assert_eq!(one(&out).price, eur(30000));
}

#[test]
fn offer_with_item_offered_outside_a_product() {
    let out = run(&[r#"{"@type":"Offer","price":"15.00","priceCurrency":"EUR",
        "itemOffered":{"@type":"Product","name":"Carnet","sku":"CA-1"}}"#]);
    let o = one(&out);
    assert_eq!(o.name.as_deref(), Some("Carnet"));
    assert_eq!(o.sku.as_deref(), Some("CA-1"));
    assert_eq!(o.price, eur(1500));
}

#[test]
fn offers_and_brand_by_id_reference() {
    let out = run(&[
        r##"[{"@type":"Product","name":"Vase","brand":{"@id":"#b"},"offers":[{"@id":"#o1"}]},
        {"@type":"Offer","@id":"#o1","price":"35","priceCurrency":"EUR"},
        {"@type":"Brand","@id":"#b","name":"Verrerie"}]"##,
    ]);
    let o = one(&out);
    assert_eq!(o.brand.as_deref(), Some("Verrerie"));
    assert_eq!(o.price, eur(3500));
}

#[test]
fn several_offers_with_names_give_variant_labels() {
    let out = run(&[r#"{"@type":"Product","name":"Bougie","offers":[
        {"@type":"Offer","name":"Bougie - Figue","price":"25","priceCurrency":"EUR","sku":"B-F"},
        {"@type":"Offer","name":"Ambre","price":"25","priceCurrency":"EUR","sku":"B-A"}]}"#]);
    let v: Vec<_> = out.offers.iter().map(|o| o.variant.as_deref()).collect();
    assert_eq!(v, vec![Some("Figue"), Some("Ambre")]);
}

#[test]
fn identical_offers_are_kept_once() {
    let product = r#"{"@type":"Product","name":"Sac","sku":"S1","offers":[
        {"@type":"Offer","price":"59","priceCurrency":"EUR"},{"@type":"Offer","price":"59","priceCurrency":"EUR"}]}"#;
    // The same product again in a second block, as a theme and an SEO app both emit it.
    let out = run(&[product, product]);
    assert_eq!(one(&out).price, eur(5900));
}

// ----- prices -------------------------------------------------------

#[test]
fn price_as_integer_number() {
    assert_eq!(price_of("1299"), eur(129900));
}

#[test]
fn price_as_decimal_number() {
    assert_eq!(price_of("1299.9"), eur(129990));
    assert_eq!(price_of("129.90"), eur(12990));
    assert_eq!(price_of("0.05"), eur(5));
    assert_eq!(price_of("1.2999e3"), eur(129990));
}

#[test]
fn price_float_noise_is_rounded() {
    // PHP with serialize_precision = 17 prints 129.9 like this.
    assert_eq!(price_of("129.90000000000001"), eur(12990));
    assert_eq!(price_of("19.989999999999998"), eur(1999));
    assert_eq!(price_of(r#""129.90000000000001""#), eur(12990));
}

#[test]
fn price_as_string_forms() {
    assert_eq!(price_of(r#""129.90""#), eur(12990));
    assert_eq!(price_of(r#""129,90""#), eur(12990));
    assert_eq!(price_of(r#""1299""#), eur(129900));
    assert_eq!(price_of(r#"" 1 299,90 € ""#), eur(129990));
    assert_eq!(price_of(r#""1.299,90""#), eur(129990));
    assert_eq!(price_of(r#""1,299.90""#), eur(129990));
    assert_eq!(price_of(r#""1\u00a0299,90""#), eur(129990));
    assert_eq!(price_of(r#""EUR 49""#), eur(4900));
    assert_eq!(price_of(r#"{"@value":"12.50"}"#), eur(1250));
}

#[test]
fn unreadable_prices_are_refused_with_a_warning() {
    for bad in [
        r#""12.345""#,
        r#""1,299""#,
        r#""49,90 - 59,90""#,
        r#""sur devis""#,
        r#""0""#,
        "0.00",
        r#""-5""#,
        r#""12,34,5""#,
    ] {
        let block = format!(
            r#"{{"@type":"Product","name":"P","offers":{{"price":{bad},"priceCurrency":"EUR"}}}}"#
        );
        let out = run(&[&block]);
        let o = one(&out);
        assert_eq!(o.price, None, "{bad}");
        assert!(has_warning(&o.warnings, "price"), "{bad}: {:?}", o.warnings);
    }
}

#[test]
fn lower_case_currency_code() {
    let out = run_with(
        &[r#"{"@type":"Product","name":"P","offers":{"price":"29.90","priceCurrency":"eur"}}"#],
        None,
    );
    assert_eq!(one(&out).price, eur(2990));
}

#[test]
fn missing_currency_uses_the_default() {
    let out = run_with(
        &[r#"{"@type":"Product","name":"P","offers":{"price":"29.90"}}"#],
        Some(Currency::CHF),
    );
    let o = one(&out);
    assert_eq!(o.price, Some(Money::new(2990, Currency::CHF)));
    assert!(o.warnings.is_empty());
}

#[test]
fn missing_currency_without_default_skips_the_price() {
    let out = run_with(
        &[r#"{"@type":"Product","name":"P","offers":{"price":"29.90",
            "priceSpecification":{"priceType":"StrikethroughPrice","price":"39.90"}}}"#],
        None,
    );
    let o = one(&out);
    assert_eq!(o.price, None);
    assert_eq!(o.reference_price, None);
    assert!(has_warning(
        &o.warnings,
        "no priceCurrency and no default currency"
    ));
}

#[test]
fn bad_currency_falls_back_to_the_default_with_a_warning() {
    let out = run(&[
        r#"{"@type":"Product","name":"P","offers":{"price":"5","priceCurrency":"Euro dollars"}}"#,
    ]);
    let o = one(&out);
    assert_eq!(o.price, eur(500));
    assert!(has_warning(
        &o.warnings,
        "`Euro dollars` is not a currency code"
    ));
    let out = run_with(
        &[r#"{"@type":"Product","name":"P","offers":{"price":"5","priceCurrency":"€"}}"#],
        None,
    );
    assert_eq!(one(&out).price, eur(500));
}

#[test]
fn yen_has_no_decimals() {
    let out =
        run(&[r#"{"@type":"Product","name":"P","offers":{"price":"1500","priceCurrency":"JPY"}}"#]);
    let jpy = Currency::new("JPY").unwrap();
    assert_eq!(one(&out).price, Some(Money::new(1500, jpy)));
}

// ----- reference prices --------------------------------------------

fn with_specs(price: &str, specs: &str) -> ExtractedOffer {
    let block = format!(
        r#"{{"@type":"Product","name":"P","offers":{{"@type":"Offer",{price}"priceCurrency":"EUR","priceSpecification":{specs}}}}}"#
    );
    one(&run(&[&block])).clone()
}

#[test]
fn strikethrough_given_as_full_url() {
    let o = with_specs(
        r#""price":"79.90","#,
        r#"{"@type":"UnitPriceSpecification","priceType":"https://schema.org/StrikethroughPrice","price":"99.90","priceCurrency":"EUR"}"#,
    );
    assert_eq!(o.price, eur(7990));
    assert_eq!(o.reference_price, eur(9990));
    assert_eq!(o.reference_kind, Some(ReferenceKind::Strikethrough));
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
}

#[test]
fn strikethrough_in_short_and_prefixed_forms() {
    for t in [
        "StrikethroughPrice",
        "http://schema.org/StrikethroughPrice",
        "schema:StrikethroughPrice",
    ] {
        let o = with_specs(
            r#""price":"10","#,
            &format!(r#"{{"priceType":"{t}","price":"12"}}"#),
        );
        assert_eq!(o.reference_kind, Some(ReferenceKind::Strikethrough), "{t}");
        assert_eq!(o.reference_price, eur(1200), "{t}");
    }
}

#[test]
fn list_and_recommended_kinds() {
    let o = with_specs(
        r#""price":"10","#,
        r#"{"priceType":"https://schema.org/ListPrice","price":"15"}"#,
    );
    assert_eq!(o.reference_kind, Some(ReferenceKind::List));
    for t in ["SRP", "https://schema.org/MSRP", "SuggestedRetailPrice"] {
        let o = with_specs(
            r#""price":"10","#,
            &format!(r#"[{{"priceType":"{t}","price":"15"}}]"#),
        );
        assert_eq!(o.reference_kind, Some(ReferenceKind::Recommended), "{t}");
        assert_eq!(o.reference_price, eur(1500));
    }
}

#[test]
fn strikethrough_is_preferred_over_list_and_recommended() {
    let o = with_specs(
        r#""price":"50","#,
        r#"[{"priceType":"https://schema.org/MSRP","price":"90"},
            {"priceType":"https://schema.org/ListPrice","price":"80"},
            {"priceType":"https://schema.org/StrikethroughPrice","price":"70"}]"#,
    );
    assert_eq!(o.reference_kind, Some(ReferenceKind::Strikethrough));
    assert_eq!(o.reference_price, eur(7000));
    let o = with_specs(
        r#""price":"50","#,
        r#"[{"priceType":"MSRP","price":"90"},{"priceType":"ListPrice","price":"80"}]"#,
    );
    assert_eq!(o.reference_kind, Some(ReferenceKind::List));
}

#[test]
fn reference_not_above_the_price_is_dropped() {
    let o = with_specs(
        r#""price":"50","#,
        r#"{"priceType":"StrikethroughPrice","price":"50.00"}"#,
    );
    assert_eq!(o.price, eur(5000));
    assert_eq!(o.reference_price, None);
    assert_eq!(o.reference_kind, None);
    assert!(has_warning(&o.warnings, "not above the price"));
    // A lower-ranked reference that is a real reduction is then taken.
    let o = with_specs(
        r#""price":"50","#,
        r#"[{"priceType":"StrikethroughPrice","price":"45"},{"priceType":"ListPrice","price":"60"}]"#,
    );
    assert_eq!(o.reference_kind, Some(ReferenceKind::List));
    assert!(has_warning(
        &o.warnings,
        "StrikethroughPrice 45.00 EUR is not above"
    ));
}

#[test]
fn reference_in_another_currency_is_dropped() {
    let o = with_specs(
        r#""price":"50","#,
        r#"{"priceType":"StrikethroughPrice","price":"80","priceCurrency":"USD"}"#,
    );
    assert_eq!(o.reference_price, None);
    assert!(has_warning(&o.warnings, "not in the currency"));
}

#[test]
fn specification_gives_the_price_when_price_is_absent() {
    let o = with_specs("", r#"{"@type":"UnitPriceSpecification","price":"19.99"}"#);
    assert_eq!(o.price, eur(1999));
    let o = with_specs(
        "",
        r#"[{"priceType":"https://schema.org/SalePrice","price":"15.00"},{"priceType":"StrikethroughPrice","price":"20.00"}]"#,
    );
    assert_eq!(o.price, eur(1500));
    assert_eq!(o.reference_price, eur(2000));
    // Currency only on the specification.
    let out = run_with(
        &[
            r#"{"@type":"Product","name":"P","offers":{"priceSpecification":{"price":"7","priceCurrency":"EUR"}}}"#,
        ],
        None,
    );
    assert_eq!(one(&out).price, eur(700));
}

#[test]
fn unit_prices_are_not_the_price() {
    let o = with_specs(
        "",
        r#"[{"price":"12.40","referenceQuantity":{"@type":"QuantitativeValue","value":"1","unitCode":"KGM"}},
            {"price":"3.10"}]"#,
    );
    assert_eq!(o.price, eur(310));
}

#[test]
fn unknown_price_type_is_reported() {
    let o = with_specs(
        r#""price":"10","#,
        r#"{"priceType":"OldPrice","price":"20"}"#,
    );
    assert_eq!(o.reference_price, None);
    assert!(has_warning(
        &o.warnings,
        "priceType `OldPrice` not understood"
    ));
}

// ----- fields -------------------------------------------------------

fn product(fields: &str) -> ExtractedOffer {
    let block =
        format!(r#"{{"@type":"Product",{fields},"offers":{{"price":"1","priceCurrency":"EUR"}}}}"#);
    one(&run(&[&block])).clone()
}

#[test]
fn brand_forms() {
    assert_eq!(product(r#""brand":"Acme""#).brand.as_deref(), Some("Acme"));
    assert_eq!(
        product(r#""brand":{"@type":"Brand","name":"Acme"}"#)
            .brand
            .as_deref(),
        Some("Acme")
    );
    assert_eq!(
        product(r#""brand":[{"@type":"Brand","name":"Acme"},{"name":"Other"}]"#)
            .brand
            .as_deref(),
        Some("Acme")
    );
    assert_eq!(
        product(r#""brand":["", "Acme"]"#).brand.as_deref(),
        Some("Acme")
    );
    assert_eq!(
        product(r#""manufacturer":{"@type":"Organization","name":"Usine"}"#)
            .brand
            .as_deref(),
        Some("Usine")
    );
    assert_eq!(
        product(r#""brand":"Acme","manufacturer":"Usine""#)
            .brand
            .as_deref(),
        Some("Acme")
    );
    assert_eq!(product(r#""brand":{"@type":"Brand"}"#).brand, None);
}

#[test]
fn gtin_prefers_gtin_properties_over_mpn() {
    assert_eq!(
        product(r#""mpn":"X-1","gtin13":"3017620422003""#)
            .gtin
            .as_deref(),
        Some("3017620422003")
    );
    assert_eq!(
        product(r#""gtin13":3017620422003"#).gtin.as_deref(),
        Some("3017620422003")
    );
    assert_eq!(
        product(r#""gtin8":"96385074""#).gtin.as_deref(),
        Some("96385074")
    );
    assert_eq!(
        product(r#""gtin":"https://id.gs1.org/01/09506000134352""#)
            .gtin
            .as_deref(),
        Some("09506000134352")
    );
    assert_eq!(
        product(r#""gtin14":" 0 3017620 422003 ""#).gtin.as_deref(),
        Some("03017620422003")
    );
    assert_eq!(product(r#""mpn":"X-1""#).gtin.as_deref(), Some("X-1"));
    assert_eq!(
        product(r#""gtin13":"N/A","mpn":"X-1""#).gtin.as_deref(),
        Some("X-1")
    );
}

#[test]
fn relative_urls_are_resolved_and_offer_url_wins() {
    assert_eq!(
        product(r#""url":"../sacs/cabas.html""#).url.as_deref(),
        Some("https://boutique.example.fr/fr/sacs/cabas.html")
    );
    assert_eq!(
        product(r#""url":"//cdn.example.fr/p/1""#).url.as_deref(),
        Some("https://cdn.example.fr/p/1")
    );
    assert_eq!(
        product(r#""url":"javascript:alert(1)""#).url.as_deref(),
        Some(PAGE)
    );
    assert_eq!(product(r#""url":"""#).url.as_deref(), Some(PAGE));
    let out = run(&[r#"{"@type":"Product","name":"P","url":"/p/1","offers":[
        {"price":"1","priceCurrency":"EUR","url":"/p/1?v=2"},{"price":"2","priceCurrency":"EUR"}]}"#]);
    assert_eq!(
        out.offers[0].url.as_deref(),
        Some("https://boutique.example.fr/p/1?v=2")
    );
    assert_eq!(
        out.offers[1].url.as_deref(),
        Some("https://boutique.example.fr/p/1")
    );
}

#[test]
fn availability_forms() {
    for (given, want) in [
        ("http://schema.org/InStock", "InStock"),
        ("https://schema.org/OutOfStock", "OutOfStock"),
        ("schema:PreOrder", "PreOrder"),
        ("in_stock", "InStock"),
        ("instock", "InStock"),
        ("Strange", "Strange"),
    ] {
        let block = format!(
            r#"{{"@type":"Product","name":"P","offers":{{"price":"1","priceCurrency":"EUR","availability":"{given}"}}}}"#
        );
        assert_eq!(
            one(&run(&[&block])).availability.as_deref(),
            Some(want),
            "{given}"
        );
    }
}

#[test]
fn strings_are_decoded_trimmed_and_sanitised() {
    assert_eq!(
        product(r#""name":"Caf&eacute; moulu""#).name.as_deref(),
        Some("Café moulu")
    );
    assert_eq!(
        product(r#""name":"Caf&amp;eacute; moulu""#).name.as_deref(),
        Some("Café moulu")
    );
    assert_eq!(
        product(r#""name":"AT&amp;T &amp; co""#).name.as_deref(),
        Some("AT&T & co")
    );
    assert_eq!(
        product(r#""name":"  Lampe\n\t de   bureau\u200b\u202e ""#)
            .name
            .as_deref(),
        Some("Lampe de bureau")
    );
    assert_eq!(
        product(r#""name":{"@value":"Lampe","@language":"fr"}"#)
            .name
            .as_deref(),
        Some("Lampe")
    );
    assert_eq!(product(r#""name":"   ""#).name, None);
    let long = "x".repeat(5000);
    let o = product(&format!(r#""name":"{long}""#));
    assert_eq!(o.name.map(|n| n.chars().count()), Some(MAX_TEXT_CHARS));
}

// ----- broken blocks ------------------------------------------------

#[test]
fn trailing_commas_are_repaired() {
    let out = run(&[
        r#"{"@type":"Product","name":"P","offers":[{"price":"9.90","priceCurrency":"EUR",},],}"#,
    ]);
    assert_eq!(one(&out).price, eur(990));
    assert_eq!((out.blocks_parsed, out.blocks_failed), (1, 0));
    assert!(has_warning(&out.warnings, "trailing commas removed"));
    assert!(has_warning(&out.warnings, "trailing comma at line 1"));
}

#[test]
fn entity_encoded_block_is_decoded() {
    let out = run(&[
        "{&quot;@type&quot;:&quot;Product&quot;,&quot;name&quot;:&quot;Caf&amp;eacute;&quot;,\
         &quot;offers&quot;:{&quot;price&quot;:&quot;4.20&quot;,&quot;priceCurrency&quot;:&quot;EUR&quot;}}",
    ]);
    let o = one(&out);
    assert_eq!(o.name.as_deref(), Some("Café"));
    assert_eq!(o.price, eur(420));
    assert!(has_warning(&out.warnings, "HTML entities decoded"));
}

#[test]
fn raw_newlines_and_controls_inside_strings() {
    let out = run(&[
        "{\"@type\":\"Product\",\"name\":\"Lampe\",\"description\":\"ligne 1\nligne 2\t\u{1}fin\",\
                     \"offers\":{\"price\":\"30\",\"priceCurrency\":\"EUR\"}}",
    ]);
    assert_eq!(one(&out).price, eur(3000));
    assert!(has_warning(&out.warnings, "control characters escaped"));
}

#[test]
fn stray_quotes_and_bad_escapes_inside_strings() {
    let out = run(&[
        r#"{"@type":"Product","name":"Écran 27" 4K l\'original","offers":{"price":"199","priceCurrency":"EUR"}}"#,
    ]);
    let o = one(&out);
    assert_eq!(o.name.as_deref(), Some("Écran 27\" 4K l'original"));
    assert!(has_warning(&out.warnings, "stray quotes escaped"));
}

#[test]
fn wrappers_bom_and_comments() {
    let body = r#"{"@type":"Product","name":"P","offers":{"price":"1","priceCurrency":"EUR"}}"#;
    for block in [
        format!("\u{feff}{body}"),
        format!("<!--\n{body}\n-->"),
        format!("//<![CDATA[\n{body}\n//]]>"),
        format!("/*<![CDATA[*/{body}/*]]>*/"),
        format!("\n  <![CDATA[ {body} ]]>  "),
    ] {
        let out = run(&[&block]);
        assert_eq!(one(&out).price, eur(100), "{block}");
        assert!(out.warnings.is_empty(), "{block}: {:?}", out.warnings);
    }
    let out = run(&[
        "{\"@type\":\"Product\", // the product\n \"name\":\"P\" /* x */,\"offers\":{\"price\":\"1\",\"priceCurrency\":\"EUR\"}}",
    ]);
    assert_eq!(one(&out).price, eur(100));
    assert!(has_warning(&out.warnings, "comments removed"));
}

#[test]
fn first_block_broken_second_read() {
    let out = run(&[
        "{\"@type\":\"Product\",\n \"name\": \"Cassé\"\n \"offers\": {}}",
        r#"{"@type":"Product","name":"Bon","offers":{"price":"5","priceCurrency":"EUR"}}"#,
    ]);
    assert_eq!((out.blocks_parsed, out.blocks_failed), (1, 1));
    assert_eq!(one(&out).name.as_deref(), Some("Bon"));
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    assert!(
        out.warnings[0]
            .starts_with("JSON-LD block 1 of 2 is invalid: expected `,` or `}` at line 3 column 2"),
        "{}",
        out.warnings[0]
    );
}

#[test]
fn error_position_counts_in_the_block_as_written() {
    let out = run(&["<!--\n{\"a\": 1}\n{\"b\": tru}\n-->"]);
    assert_eq!(out.blocks_failed, 1);
    assert!(
        has_warning(&out.warnings, "expected ident at line 3 column 10"),
        "{:?}",
        out.warnings
    );
    assert!(has_warning(
        &out.warnings,
        "the 1 complete value(s) before the error were read"
    ));
}

#[test]
fn five_concatenated_objects() {
    let mut block = String::new();
    for i in 1..=5 {
        block.push_str(&format!(
            r#"{{"@type":"Product","name":"P{i}","offers":{{"price":"{i}","priceCurrency":"EUR"}}}}"#
        ));
        block.push_str(if i % 2 == 0 { "\n" } else { "" });
    }
    let out = run(&[&block]);
    assert_eq!(out.offers.len(), 5);
    assert_eq!(out.offers[4].price, eur(500));
    assert_eq!(out.blocks_parsed, 1);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    // Separated by commas or semicolons, as some themes print them.
    let out = run(&[
        r#"{"@type":"Organization","name":"O"},{"@type":"Product","name":"P","offers":{"price":"1","priceCurrency":"EUR"}};"#,
    ]);
    assert_eq!(out.offers.len(), 1);
}

#[test]
fn hostile_deep_nesting() {
    // Deeper than serde_json allows: the block fails, nothing panics.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let out = run(&[&deep]);
    assert_eq!(out.blocks_failed, 1);
    assert!(has_warning(&out.warnings, "recursion limit"));
    // Deep but valid: the product beyond MAX_DEPTH is ignored with a warning.
    let product =
        r#"{"@type":"Product","name":"Deep","offers":{"price":"1","priceCurrency":"EUR"}}"#;
    let nested = format!("{}{product}{}", r#"{"a":"#.repeat(60), "}".repeat(60));
    let out = run(&[&nested]);
    assert!(out.offers.is_empty());
    assert!(has_warning(&out.warnings, "deeper than 32 levels"));
    // Within the cap it is found.
    let nested = format!("{}{product}{}", r#"{"a":"#.repeat(20), "}".repeat(20));
    assert_eq!(one(&run(&[&nested])).name.as_deref(), Some("Deep"));
    // Nested AggregateOffers, self references: bounded, no panic.
    let aggs = format!(
        r#"{{"@type":"Product","name":"A","offers":{}{}{}}}"#,
        r#"{"@type":"AggregateOffer","offers":"#.repeat(50),
        r#"{"price":"1","priceCurrency":"EUR"}"#,
        "}".repeat(50)
    );
    let _ = run(&[&aggs]);
    let _ = run(&[
        r##"{"@type":"Product","@id":"#p","name":"S","offers":{"@id":"#p"},"brand":{"@id":"#p"},"hasVariant":{"@id":"#p"}}"##,
    ]);
}

#[test]
fn no_panic_on_any_prefix_of_a_page() {
    let block = "\u{feff}<!--{\"@context\":\"https://schema.org\",\"@graph\":[{\"@type\":\"ProductGroup\",\"name\":\"Caf&eacute; \u{e9}t\u{e9}\",\
        \"variesBy\":[\"size\"],\"hasVariant\":[{\"@type\":\"Product\",\"size\":\"S\",\"offers\":{\"price\":\"1 299,90\",\"priceCurrency\":\"EUR\",\
        \"priceSpecification\":[{\"priceType\":\"https://schema.org/StrikethroughPrice\",\"price\":1500.5}]}},],},\
        {\"@type\":\"Offer\",\"itemOffered\":{\"@id\":\"#x\"},\"price\":\"1e3\"}]}\n//-->";
    for (i, _) in block.char_indices() {
        let _ = run(&[&block[..i], &block[i..]]);
    }
    let out = run(&[block]);
    assert_eq!(one(&out).reference_price, eur(150050));
}

#[test]
fn empty_and_scalar_blocks() {
    let out = run(&["", "   \n ", "<!-- -->", "42", "\"text\"", "null"]);
    assert!(out.offers.is_empty());
    assert_eq!((out.blocks_parsed, out.blocks_failed), (3, 3));
}

#[test]
fn offers_are_capped() {
    let offers: Vec<String> = (1..=MAX_OFFERS + 20)
        .map(|i| format!(r#"{{"price":"{i}","priceCurrency":"EUR","sku":"S{i}"}}"#))
        .collect();
    let block = format!(
        r#"{{"@type":"Product","name":"Many","offers":[{}]}}"#,
        offers.join(",")
    );
    let out = run(&[&block]);
    assert_eq!(out.offers.len(), MAX_OFFERS);
    assert!(has_warning(&out.warnings, "more than 500 offers"));
}

// ----- helpers ------------------------------------------------------

#[test]
fn canonical_decimals() {
    assert_eq!(canonical_decimal("1 299,90 €").as_deref(), Ok("1299.90"));
    assert_eq!(canonical_decimal("1'299.90").as_deref(), Ok("1299.90"));
    assert_eq!(canonical_decimal("1.299.000").as_deref(), Ok("1299000"));
    assert_eq!(canonical_decimal(",50").as_deref(), Ok("0.50"));
    assert_eq!(canonical_decimal("12,-").as_deref(), Ok("12"));
    assert!(canonical_decimal("12 90").is_err());
    assert!(canonical_decimal("1.2.3,4.5").is_err());
    assert_eq!(expand_exponent("1e-5").as_deref(), Some("0.00001"));
    assert_eq!(expand_exponent("1.5e+2").as_deref(), Some("150"));
    assert_eq!(expand_exponent("12.5e1").as_deref(), Some("125"));
    assert_eq!(expand_exponent("1e999999999"), None);
}
