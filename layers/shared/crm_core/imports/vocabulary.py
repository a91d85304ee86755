"""The column titles staff's lists really have, and the customer field each one means.

Titles are compared after folding: accents dropped, case ignored, everything but letters, digits and ``#``
removed (``"E-mail 1 - Value"`` → ``email1value``). Each spelling is listed with where it comes from, which is
what the mapping answers as the reason for its choice: plain English, the exports of HubSpot, Salesforce,
Mailchimp, Outlook and Google Contacts, and German, French, Spanish, Portuguese, Italian and Dutch wordings.

A few titles depend on the others in the row: "Name" is a full name unless the row has its own first and
last name columns; "Nombre"/"Nome" (Spanish, Portuguese, Italian) is a first name beside a surname column
and a full name alone; French "Nom" is the surname beside "Prénom" and a full name alone.
"""

from __future__ import annotations

import re
import unicodedata
from typing import get_args

from crm_core.models.imports import ImportField

FIELDS: tuple[str, ...] = get_args(ImportField)
IDENTIFYING = frozenset({"customer_number", "first_name", "last_name", "full_name", "organization_name", "email",
                         "username"})
REPEATABLE = frozenset({"email", "phone"})  # further columns of these are used when the first one is empty
LABELS = {
    "customer_number": "customer number", "type": "type (individual or organisation)", "first_name": "first name",
    "last_name": "last name", "full_name": "full name (split into first and last)",
    "organization_name": "organisation name", "username": "username", "email": "email", "phone": "phone",
    "date_of_birth": "date of birth", "address.line1": "address line 1", "address.line2": "address line 2",
    "address.city": "town or city", "address.county": "county, state or region", "address.postcode": "postcode",
    "address.country": "country",
}

_SPELLINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "": {
        "customer_number": ("customer number", "customer no", "customer #", "cust no", "customer num", "account number",
                            "account no", "customer ref", "customer reference", "client number", "client no"),
        "type": ("type", "customer type", "contact type"),
        "first_name": ("first name", "forename", "forenames", "given name", "firstname", "first", "christian name",
                       "fname"),
        "last_name": ("last name", "surname", "family name", "lastname", "last", "lname"),
        "full_name": ("full name", "fullname", "contact name", "customer name", "client name", "display name",
                      "member name"),
        "organization_name": ("organisation", "organization", "organisation name", "organization name", "company",
                              "company name", "business", "business name", "employer"),
        "username": ("username", "user name", "login", "user id"),
        "email": ("email", "e-mail", "email address", "e-mail address", "mail", "email 1", "primary email",
                  "personal email", "email 2", "second email", "secondary email", "other email", "work email"),
        "phone": ("phone", "tel", "telephone", "phone number", "telephone number", "mobile", "mobile number",
                  "mobile phone", "cell", "cell phone", "home phone", "work phone", "tel no", "phone 2"),
        "date_of_birth": ("date of birth", "dob", "d.o.b.", "birth date", "birthdate", "birthday", "born"),
        "address.line1": ("address", "address 1", "address line 1", "address1", "street", "adress",
                          "street address", "address line one"),
        "address.line2": ("address 2", "address line 2", "address2", "adress2", "street 2", "address line two"),
        "address.city": ("city", "town", "town/city", "town city", "city/town"),
        "address.county": ("county", "region", "state", "province", "state/province", "county/state"),
        "address.postcode": ("postcode", "post code", "postal code", "zip", "zip code", "zipcode", "zip/postal code",
                             "postal/zip code"),
        "address.country": ("country", "country code", "country name", "nation"),
    },
    "HubSpot": {
        "phone": ("mobile phone number",),
        "address.line2": ("street address 2",),
        "address.county": ("state/region",),
        "address.country": ("country/region",),
        "organization_name": ("associated company",),
    },
    "Salesforce": {
        "organization_name": ("account name",),
        "address.line1": ("mailing street", "mailing address line 1"),
        "address.line2": ("mailing address line 2",),
        "address.city": ("mailing city",),
        "address.county": ("mailing state/province", "mailing state"),
        "address.postcode": ("mailing zip/postal code", "mailing postal code", "mailing zip"),
        "address.country": ("mailing country",),
    },
    "Mailchimp": {
        "email": ("email address",),
    },
    "Outlook": {
        "email": ("e-mail 2 address", "e-mail 3 address"),
        "phone": ("primary phone", "business phone", "home phone 2", "business phone 2", "other phone"),
        "address.line1": ("home street", "business street"),
        "address.line2": ("home street 2", "business street 2"),
        "address.city": ("home city", "business city"),
        "address.county": ("home state", "business state"),
        "address.postcode": ("home postal code", "business postal code"),
        "address.country": ("home country/region", "business country/region"),
    },
    "Google Contacts": {
        "first_name": ("given name",),
        "last_name": ("family name",),
        "organization_name": ("organization 1 - name",),
        "email": ("e-mail 1 - value", "e-mail 2 - value", "e-mail 3 - value", "email 1 - value"),
        "phone": ("phone 1 - value", "phone 2 - value", "phone 3 - value"),
        "address.line1": ("address 1 - street",),
        "address.line2": ("address 1 - extended address",),
        "address.city": ("address 1 - city",),
        "address.county": ("address 1 - region",),
        "address.postcode": ("address 1 - postal code",),
        "address.country": ("address 1 - country",),
    },
    "German": {
        "customer_number": ("kundennummer", "kunden-nr", "kundennr", "kunden nr."),
        "type": ("typ", "kundentyp", "kundenart"),
        "first_name": ("vorname", "vornamen", "rufname"),
        "last_name": ("nachname", "familienname", "zuname"),
        "full_name": ("vollständiger name", "kontaktname", "kundenname"),
        "organization_name": ("firma", "firmenname", "unternehmen", "organisation", "betrieb"),
        "username": ("benutzername", "benutzer"),
        "email": ("e-mail-adresse", "emailadresse", "e-post"),
        "phone": ("telefon", "telefonnummer", "tel.", "handy", "mobil", "mobiltelefon", "handynummer", "rufnummer"),
        "date_of_birth": ("geburtsdatum", "geburtstag", "geb.", "geb. datum"),
        "address.line1": ("straße", "strasse", "anschrift", "adresse", "straße und hausnummer", "straße / nr."),
        "address.line2": ("adresszusatz", "adresse 2", "zusatz"),
        "address.city": ("ort", "stadt", "wohnort"),
        "address.county": ("bundesland", "kanton"),
        "address.postcode": ("plz", "postleitzahl"),
        "address.country": ("land",),
    },
    "French": {
        "customer_number": ("numéro client", "n° client", "no client", "numero de client", "code client"),
        "type": ("type de client",),
        "first_name": ("prénom", "prénoms"),
        "last_name": ("nom de famille",),
        "full_name": ("nom complet", "nom et prénom", "prénom et nom"),
        "organization_name": ("entreprise", "société", "raison sociale", "nom de l'entreprise", "organisme"),
        "username": ("identifiant", "nom d'utilisateur"),
        "email": ("courriel", "adresse e-mail", "adresse email", "adresse électronique", "mél"),
        "phone": ("téléphone", "tél", "tél.", "portable", "numéro de téléphone", "mobile (fr)"),
        "date_of_birth": ("date de naissance", "né le", "anniversaire"),
        "address.line1": ("rue", "adresse postale", "adresse 1", "adresse ligne 1"),
        "address.line2": ("complément d'adresse", "adresse ligne 2"),
        "address.city": ("ville", "commune", "localité"),
        "address.county": ("département", "région"),
        "address.postcode": ("code postal", "cp"),
        "address.country": ("pays",),
    },
    "Spanish": {
        "customer_number": ("número de cliente", "número cliente", "nº cliente", "n.º cliente", "código de cliente",
                            "código cliente"),
        "type": ("tipo", "tipo de cliente"),
        "last_name": ("apellido", "apellidos", "primer apellido"),
        "full_name": ("nombre completo", "nombre y apellidos", "cliente"),
        "organization_name": ("empresa", "compañía", "organización", "razón social", "nombre de la empresa"),
        "username": ("usuario", "nombre de usuario"),
        "email": ("correo", "correo electrónico", "email (es)", "dirección de correo"),
        "phone": ("teléfono", "telefono", "móvil", "celular", "número de teléfono", "teléfono 2"),
        "date_of_birth": ("fecha de nacimiento", "cumpleaños", "f. nacimiento"),
        "address.line1": ("dirección", "domicilio", "calle", "dirección 1"),
        "address.line2": ("dirección 2",),
        "address.city": ("ciudad", "localidad", "población", "municipio"),
        "address.county": ("provincia", "comunidad autónoma"),
        "address.postcode": ("código postal", "c.p.", "cód. postal"),
        "address.country": ("país",),
    },
    "Portuguese": {
        "customer_number": ("número do cliente", "código do cliente"),
        "last_name": ("sobrenome", "apelido", "último nome"),
        "full_name": ("nome completo", "nome do cliente", "nome do responsável"),
        "organization_name": ("companhia", "organização", "nome da empresa"),
        "username": ("utilizador", "nome de usuário", "nome de utilizador"),
        "email": ("endereço de e-mail", "endereço de email", "correio eletrônico", "correio electrónico"),
        "phone": ("telefone", "telemóvel", "celular (pt)", "número de telefone", "whatsapp"),
        "date_of_birth": ("data de nascimento", "aniversário"),
        "address.line1": ("endereço", "morada", "rua", "logradouro"),
        "address.line2": ("complemento",),
        "address.city": ("cidade", "município", "localidade"),
        "address.county": ("estado", "distrito", "uf"),
        "address.postcode": ("cep", "código postal (pt)"),
        "address.country": ("país (pt)",),
    },
    "Italian": {
        "customer_number": ("codice cliente", "numero cliente"),
        "last_name": ("cognome",),
        "full_name": ("nome e cognome", "nominativo", "cognome e nome"),
        "organization_name": ("azienda", "ragione sociale", "società", "ditta"),
        "username": ("nome utente", "utente"),
        "email": ("posta elettronica", "indirizzo email", "indirizzo e-mail"),
        "phone": ("cellulare", "numero di telefono", "tel. (it)"),
        "date_of_birth": ("data di nascita",),
        "address.line1": ("indirizzo", "via"),
        "address.city": ("città", "comune", "località"),
        "address.county": ("provincia (it)", "regione"),
        "address.postcode": ("cap", "c.a.p.", "codice postale"),
        "address.country": ("nazione", "paese"),
    },
    "Dutch": {
        "customer_number": ("klantnummer", "klantnr", "debiteurnummer"),
        "first_name": ("voornaam", "roepnaam"),
        "last_name": ("achternaam", "familienaam"),
        "full_name": ("volledige naam",),
        "organization_name": ("bedrijf", "bedrijfsnaam", "organisatie"),
        "username": ("gebruikersnaam",),
        "email": ("e-mailadres", "emailadres"),
        "phone": ("telefoonnummer", "telefoon", "mobiel", "gsm", "mobiel nummer"),
        "date_of_birth": ("geboortedatum",),
        "address.line1": ("adres", "straat", "straatnaam"),
        "address.line2": ("adres 2",),
        "address.city": ("plaats", "woonplaats", "stad"),
        "address.county": ("provincie",),
        "address.postcode": ("postcode (nl)",),
        "address.country": ("land (nl)",),
    },
}

# Titles whose meaning depends on the row: (language, what it is beside a partner column, the partner field).
CONTEXTUAL: dict[str, tuple[str, str, str]] = {
    "name": ("", "", "first_name"),  # "Name": a full name, unless first and last names have their own columns
    "naam": ("Dutch", "", "first_name"),
    "nombre": ("Spanish", "first_name", "last_name"),
    "nome": ("Portuguese or Italian", "first_name", "last_name"),
    "nom": ("French", "last_name", "first_name"),
}
# Secondary address and phone columns of exports: known, but another column of theirs comes first.
_LESSER = re.compile(r"^(business|other|work|e-mail [23]|phone [23]|home phone 2|business phone 2|email 2|"
                     r"second|secondary|telefono 2|teléfono 2|phone 2)")


def fold(text: str) -> str:
    """Text as titles and words are compared: accents, case, spaces and punctuation gone (``"Código postal"`` →
    ``"codigopostal"``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^0-9a-z#]+", "", plain.replace("ß", "ss"))


def _strip_note(spelling: str) -> str:
    return re.sub(r" \((?:fr|es|pt|it|nl)\)$", "", spelling)  # a spelling shared by two languages, listed once


class Known:
    """What a folded title means: its field, where the spelling comes from, and whether it is a secondary one."""

    __slots__ = ("field", "lesser", "source")

    def __init__(self, field: str, source: str, lesser: bool) -> None:
        self.field = field
        self.source = source
        self.lesser = lesser


def _build() -> dict[str, Known]:
    known: dict[str, Known] = {}
    for source, fields in _SPELLINGS.items():
        for name, spellings in fields.items():
            for spelling in spellings:
                plain = _strip_note(spelling)
                known.setdefault(fold(plain), Known(name, source, bool(_LESSER.match(plain))))
    return known


KNOWN = _build()
CONTEXTUAL_KEYS = {fold(title): title for title in CONTEXTUAL}


def describe(source: str) -> str:
    """How a mapping names where a spelling comes from."""
    if not source:
        return ""
    if source in ("HubSpot", "Salesforce", "Mailchimp", "Outlook", "Google Contacts"):
        return f" ({source} export)"
    return f" ({source})"
