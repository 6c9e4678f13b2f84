"""Vocabulary and visual signatures of the synthetic catalogue, one entry per prdtypecode.

Related categories share words and shapes on purpose (used vs new books, magazines vs book lots, new vs
used games, toys vs outdoor toys, furniture vs garden furniture): the signal is learnable, not trivial.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Look:
    shape: str  # silhouette drawn by the generator
    texture: str  # fill pattern inside the silhouette
    tone: int  # mean grey level of the product (0 black .. 255 white)
    aspect: float  # height / width of the silhouette


@dataclass(frozen=True)
class Entry:
    nouns: tuple[str, ...]
    words: tuple[str, ...]
    related: tuple[int, ...]  # prdtypecodes that borrow words and looks from this one
    look: Look
    en: tuple[str, ...] = ()
    de: tuple[str, ...] = ()


def _t(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


LEXICON: dict[int, Entry] = {
    10: Entry(
        _t("livre|roman|ouvrage|essai|recueil|manuel"),
        _t("occasion|édition|auteur|poche|pages|bon état|couverture usée|chapitre|éditeur|réédition|ancien"),
        (2705, 2403),
        Look("book", "hlines", 120, 1.45),
        _t("book|used|paperback"),
        _t("Buch|gebraucht"),
    ),
    2705: Entry(
        _t("livre|roman|album|guide|bande dessinée|ouvrage"),
        _t("neuf|parution|auteur|éditeur|broché|illustré|préface|collection|tome|nouveauté"),
        (10, 2403),
        Look("book", "plain", 150, 1.4),
        _t("book|new|hardcover"),
        _t("Buch|neu"),
    ),
    2403: Entry(
        _t("lot de livres|lot de magazines|lot de bd|collection|lot"),
        _t("lot|tomes|numéros|bande dessinée|revues|série complète|volumes|albums|mangas"),
        (10, 2280, 2705),
        Look("stack", "hlines", 110, 0.9),
        _t("lot|books|comics"),
        _t("Bücher|Sammlung"),
    ),
    2280: Entry(
        _t("magazine|journal|revue|numéro|hebdomadaire"),
        _t("ancien|numéro|année|mensuel|parution|presse|édition|actualité|revues|1970|1985"),
        (2403,),
        Look("paper", "text", 170, 1.3),
        _t("magazine|issue"),
        _t("Zeitschrift|Ausgabe"),
    ),
    40: Entry(
        _t("jeu vidéo|jeu|coffret|édition collector"),
        _t("playstation|xbox|nintendo|switch|ps4|ps5|neuf|import|version|sous blister|pegi"),
        (2462, 2905),
        Look("case", "diag", 90, 1.25),
        _t("video game|new|import"),
        _t("Videospiel|neu"),
    ),
    2462: Entry(
        _t("jeu vidéo|lot de jeux|pack|console et jeux"),
        _t("occasion|playstation|xbox|nintendo|ps2|gamecube|lot|pack|testé|fonctionne|boîte"),
        (40, 60),
        Look("case", "dots", 100, 1.0),
        _t("used|games|bundle"),
        _t("Spiele|gebraucht"),
    ),
    2905: Entry(
        _t("jeu pc|code de téléchargement|clé steam|jeu"),
        _t("téléchargement|pc|windows|steam|code|numérique|licence|dlc|édition"),
        (40,),
        Look("screen", "grid", 60, 0.6),
        _t("pc game|download|key"),
        _t("PC-Spiel|Download"),
    ),
    50: Entry(
        _t("manette|câble|chargeur|support|housse|casque gamer"),
        _t("compatible|ps4|xbox|switch|usb|sans fil|accessoire|gamer|manette|protection"),
        (60, 40),
        Look("pad", "plain", 70, 0.6),
        _t("controller|charger|cable"),
        _t("Controller|Kabel"),
    ),
    60: Entry(
        _t("console|console portable|console rétro"),
        _t("console|go|stockage|manette incluse|hdmi|rétro|portable|jeux intégrés|complète"),
        (50, 2462),
        Look("console", "plain", 50, 0.45),
        _t("console|handheld"),
        _t("Konsole"),
    ),
    1140: Entry(
        _t("figurine|statuette|funko pop|peluche|goodies"),
        _t("figurine|collection|manga|pop|vinyl|officielle|personnage|licence|marvel|dragon ball"),
        (1180, 1280),
        Look("figure", "plain", 110, 1.5),
        _t("figure|collectible"),
        _t("Figur|Sammler"),
    ),
    1180: Entry(
        _t("figurine|jeu de rôle|warhammer|décor|livre de règles"),
        _t("wargame|warhammer|figurines|peindre|résine|escouade|règles|dés|donjons|armée"),
        (1140, 1281),
        Look("figure", "dots", 90, 1.2),
        _t("wargame|miniature"),
        _t("Tabletop|Miniatur"),
    ),
    1160: Entry(
        _t("carte|booster|lot de cartes|display|carte rare"),
        _t("pokemon|yu-gi-oh|magic|booster|rare|holo|édition|carte|collection|display|deck"),
        (1140,),
        Look("cards", "grid", 140, 1.4),
        _t("card|booster|trading"),
        _t("Karte|Sammelkarte"),
    ),
    1280: Entry(
        _t("jouet|poupée|peluche|voiture|jeu d'éveil|puzzle"),
        _t("enfant|jouet|éveil|âge|3 ans|garçon|fille|bébé|jeu|coloré|peluche|musical"),
        (1302, 1281, 1140, 1320),
        Look("blob", "dots", 160, 1.0),
        _t("toy|kids"),
        _t("Spielzeug|Kinder"),
    ),
    1281: Entry(
        _t("jeu de société|jeu de cartes|puzzle|jeu"),
        _t("joueurs|plateau|famille|stratégie|partie|dés|cartes|ambiance|âge|société"),
        (1280, 1180),
        Look("box", "checker", 130, 0.75),
        _t("board game|family"),
        _t("Brettspiel|Familie"),
    ),
    1300: Entry(
        _t("drone|voiture radiocommandée|maquette|hélicoptère|avion rc|batterie"),
        _t("radiocommandé|rc|télécommande|moteur|échelle|1/10|lipo|batterie|hélice|modélisme|camera"),
        (1280,),
        Look("drone", "plain", 80, 0.5),
        _t("drone|rc car|model"),
        _t("Drohne|Modellbau"),
    ),
    1302: Entry(
        _t("trampoline|toboggan|balançoire|piscine gonflable|jeu d'extérieur"),
        _t("extérieur|jardin|enfant|plein air|gonflable|balle|sport|été|aire de jeux"),
        (1280, 2583, 2582),
        Look("arc", "vlines", 150, 0.8),
        _t("outdoor|kids|garden"),
        _t("Garten|Kinder"),
    ),
    1301: Entry(
        _t("chaussettes|baby-foot|fléchettes|billard|chaussons"),
        _t("bébé|naissance|coton|fléchettes|bar|billard|baby-foot|pointure|cible|table"),
        (1320,),
        Look("sock", "stripes", 140, 1.3),
        _t("socks|darts|bar"),
        _t("Socken|Dart"),
    ),
    1320: Entry(
        _t("poussette|siège auto|biberon|lit parapluie|gigoteuse|tapis d'éveil"),
        _t("bébé|naissance|puériculture|siège|poussette|sécurité|confort|nourrisson|maternité"),
        (1280, 1301),
        Look("stroller", "plain", 100, 0.95),
        _t("baby|stroller"),
        _t("Baby|Kinderwagen"),
    ),
    1560: Entry(
        _t("table|chaise|armoire|commode|buffet|canapé|étagère|lit"),
        _t("bois|chêne|salon|chambre|tiroirs|rangement|design|moderne|pieds|meuble|dimensions"),
        (2582, 2060),
        Look("chair", "woodgrain", 90, 1.0),
        _t("furniture|table|chair"),
        _t("Möbel|Tisch"),
    ),
    2582: Entry(
        _t("salon de jardin|table de jardin|chaise longue|parasol|transat|abri"),
        _t("jardin|extérieur|terrasse|résine|aluminium|bois|parasol|résistant|meuble|pieds"),
        (1560, 2585, 1302),
        Look("chair", "vlines", 130, 0.8),
        _t("garden|patio"),
        _t("Garten|Terrasse"),
    ),
    2060: Entry(
        _t("cadre|lampe|vase|miroir|stickers|horloge|coussin"),
        _t("décoration|déco|mural|salon|design|lumière|led|cadre|maison|vintage|intérieur"),
        (1920, 1560),
        Look("frame", "plain", 170, 1.1),
        _t("decor|lamp|wall"),
        _t("Deko|Lampe"),
    ),
    1920: Entry(
        _t("housse de couette|drap|oreiller|coussin|rideau|plaid|nappe"),
        _t("coton|lit|linge|couette|oreiller|housse|percale|taie|polyester|doux|240x260"),
        (2060,),
        Look("fabric", "waves", 180, 0.8),
        _t("bedding|duvet|cotton"),
        _t("Bettwäsche|Baumwolle"),
    ),
    1940: Entry(
        _t("café|thé|chocolat|bonbons|épices|biscuits|confiture"),
        _t("bio|saveur|gramme|sachet|arôme|gourmand|dégustation|ingrédients|sucre|100g"),
        (),
        Look("jar", "plain", 120, 1.3),
        _t("coffee|tea|snack"),
        _t("Kaffee|Tee"),
    ),
    2220: Entry(
        _t("collier|croquettes|arbre à chat|niche|laisse|gamelle|litière"),
        _t("chien|chat|animal|animaux|croquettes|collier|litière|aquarium|oiseau|rongeur"),
        (),
        Look("bowl", "plain", 100, 0.5),
        _t("dog|cat|pet"),
        _t("Hund|Katze"),
    ),
    2522: Entry(
        _t("cahier|stylo|cartouche|agenda|classeur|enveloppes|papier"),
        _t("bureau|papeterie|encre|feuilles|a4|ramette|stylos|imprimante|cartouche|scolaire"),
        (2403,),
        Look("paper", "grid", 200, 1.4),
        _t("notebook|pen|office"),
        _t("Heft|Büro"),
    ),
    2583: Entry(
        _t("piscine|pompe|filtre|robot de piscine|bâche|liner|échelle"),
        _t("piscine|eau|filtration|pompe|chlore|spa|bâche|hors sol|bassin|nettoyage|m3"),
        (1302, 2585),
        Look("ring", "waves", 110, 0.55),
        _t("pool|pump|filter"),
        _t("Pool|Pumpe"),
    ),
    2585: Entry(
        _t("perceuse|tondeuse|tuyau|sécateur|scie|outil|taille-haie"),
        _t("jardin|outil|bricolage|batterie|lame|électrique|arrosage|watts|tondeuse|tuyau"),
        (2582, 2583),
        Look("tool", "plain", 70, 0.35),
        _t("drill|tool|garden"),
        _t("Werkzeug|Garten"),
    ),
}
