"""Demo customers, created through the customer service so they are indexed like any other."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from crm_core.models.customer import CustomerCreate
from crm_core.services.customers import CustomerService

DEMO_CUSTOMERS: list[dict[str, Any]] = [
    {"type": "individual", "first_name": "Ada", "last_name": "Lovelace", "username": "alovelace",
     "email": "ada.lovelace@example.org", "phone": "+44 20 7946 0000",
     "address": {"line1": "1 High Street", "city": "London", "postcode": "N1 9GU", "country": "GB"}},
    {"type": "individual", "first_name": "Charles", "last_name": "Babbage", "username": "cbabbage",
     "email": "charles@analytical.example", "phone": "+44 20 7946 0111",
     "address": {"line1": "1 Dorset Street", "city": "London", "postcode": "W1U 4EG", "country": "GB"}},
    {"type": "individual", "first_name": "Mary", "last_name": "Somerville", "email": "mary.somerville@example.org",
     "phone": "0131 496 0123", "address": {"line1": "5 Queen Street", "city": "Edinburgh", "postcode": "EH2 1JX",
                                           "country": "GB"}, "assigned_staff": ["local-staff"]},
    {"type": "individual", "first_name": "Zoë", "last_name": "O'Brien", "email": "zoe.obrien@example.ie",
     "phone": "+353 1 555 0199", "address": {"line1": "12 Grafton Street", "city": "Dublin", "postcode": "D02 X285",
                                             "country": "IE"}},
    {"type": "individual", "first_name": "Grace", "last_name": "Hopper", "username": "ghopper",
     "email": "grace@navy.example", "organization_name": "Harbour Computing Ltd",
     "address": {"line1": "3 Harbour Road", "city": "Bristol", "postcode": "BS1 5TT", "country": "GB"},
     "assigned_staff": ["local-staff", "local-admin"]},
    {"type": "organization", "organization_name": "Harbour Computing Ltd", "email": "accounts@harbour.example",
     "phone": "0117 496 0555", "address": {"line1": "3 Harbour Road", "city": "Bristol", "postcode": "BS1 5TT",
                                           "country": "GB"}},
    {"type": "organization", "organization_name": "Northern Arts Trust", "email": "box.office@northernarts.example",
     "phone": "0161 496 0777", "address": {"line1": "20 Mill Lane", "city": "Manchester", "postcode": "M1 2AB",
                                           "country": "GB"}, "answers": {"gift_aid": True, "seats": 250}},
    {"type": "individual", "first_name": "Alan", "last_name": "Turing", "username": "aturing",
     "email": "alan@bletchley.example", "phone": "01908 640404",
     "address": {"line1": "The Mansion", "city": "Milton Keynes", "postcode": "MK3 6EB", "country": "GB"}},
    {"type": "individual", "first_name": "Rosalind", "last_name": "Franklin", "email": "rosalind@kings.example",
     "phone": "+44 20 7848 2000", "address": {"line1": "Strand", "city": "London", "postcode": "WC2R 2LS",
                                              "country": "GB"}},
    {"type": "organization", "organization_name": "Lovelace & Babbage Engines", "email": "hello@engines.example",
     "address": {"line1": "9 Engine Yard", "city": "London", "postcode": "N1 9GU", "country": "GB"}},
]

_adapter: TypeAdapter[Any] = TypeAdapter(CustomerCreate)


def load_demo(service: CustomerService) -> int:
    for record in DEMO_CUSTOMERS:
        service.create(_adapter.validate_python({**record, "confirm_duplicate": True}), actor="demo-data")
    return len(DEMO_CUSTOMERS)
