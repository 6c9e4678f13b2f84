"""Words and phrases shared by every class: generic filler, brands, description sentences, HTML wrappers."""

from __future__ import annotations

from .lexicon import _t

GENERIC = _t(
    "de|la|le|les|des|et|pour|avec|en|un|une|du|au|sur|très|bon|état|neuf|qualité|prix|"
    "livraison|rapide|taille|couleur|noir|blanc|rouge|bleu|vert|gris|modèle|marque|produit|lot|"
    "idéal|cadeau|original|nouveau|haute|facile|utiliser|pratique|dimensions|poids|cm|kg|x"
)
GENERIC_EN = _t("the|and|for|with|new|quality|size|color|black|white|great|gift|fast|shipping")
GENERIC_DE = _t("und|für|mit|neu|Qualität|Größe|Farbe|schwarz|weiß|Geschenk|schnell|Versand")
BRANDS = _t(
    "Intex|Bestway|Lego|Hasbro|Sony|Nintendo|Ubisoft|Gallimard|Folio|Ikea|Hespéride|Bic|Clairefontaine|"
    "Gardena|Bosch|Playmobil|Vtech|Chicco|Bébé Confort|Panini|Games Workshop|Dyson|Zodiac|Truffaut"
)
SENTENCES = _t(
    "Ce produit est idéal pour toute la famille.|Livré dans son emballage d'origine.|"
    "Caractéristiques techniques ci-dessous.|Matière : coton et polyester.|Garantie deux ans.|"
    "Expédition sous 48 heures.|Convient aux enfants à partir de 3 ans.|Dimensions : 45 x 30 x 12 cm.|"
    "Produit conforme aux normes européennes CE.|Nous contacter pour toute question.|"
    "Photos non contractuelles.|Article d'occasion vérifié et nettoyé.|Notice en français incluse."
)
HTML_WRAPS = (
    "<p>{}</p>",
    "{}<br />",
    "<strong>{}</strong>",
    "<ul><li>{}</li></ul>",
    '<span class="a-list-item">{}</span>',
    "<br>{}<br>",
    "<div>{}</div>",
)
