"""The sources the screening rules rest on, by their key in docs/references.md.

Each key says whether the rule's claim was read in the source ([S]) or is taken on trust or is our own
conservative reading ([U]); the rule table shows the key and the mark beside every rule.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """A cited source of a screening rule.

    Attributes:
        key: the short key of docs/references.md, e.g. "THOR".
        read: True when the claim the rule takes from it was read in the source ([S]); False [U].
    """

    key: str
    read: bool

    @property
    def label(self) -> str:
        """The key with its mark, as shown beside a rule: "[THOR] [S]"."""
        return f"[{self.key}] [{'S' if self.read else 'U'}]"


NICE_NG59 = Source("NICENG59", True)  # scope "over 16s" is in its title
NICE_NG59_ACUTE = Source("NICENG59", False)  # self-management first: not re-read here
CKS_SCIATICA = Source("NICECKS", True)  # suspected cauda equina: usually immediate admission
GIRFT_CES = Source("GIRFTCES", True)  # sexual dysfunction, rectal and urinary sensation, micturition
CES_TRIAGE = Source("CESTriage2011", True)  # bilateral neurogenic sciatica as a CES red flag
CKS_BACK_PAIN = Source("NICECKS", False)  # AAA "pain unchanged by movement": not read here
GLOS_BACK_PAIN = Source("NHSGlos", True)  # fracture: osteoporosis, corticosteroids, central pain
VERHAGEN_2016 = Source("Verhagen2016", True)  # most guidelines: steroid use is a fracture red flag
BMJ_AAA = Source("BMJBestPracticeAAA", True)  # palpable pulsatile abdominal mass: key diagnostic factor
ROBINSON_2013 = Source("Robinson2013", True)  # AAA rare under 50; symptomatic AAA: emergency
AHCPR = Source("AHCPR1994", False)
NICE_NG65 = Source("NICENG65", False)
HOUGHTON = Source("Houghton2010", False)
THOR = Source("THOR", True)  # steroid injection 2-3 weeks; thyroid; pregnant uterus; haemorrhage
FDA_FENTANYL = Source("FDAFentanyl", True)  # keep direct external heat off the patch site
NAVRATIL_2002 = Source("Navratil2002", True)  # fever, infection, blood diseases, neuropathies: doubtful
NAALT = Source("NAALT2010", True)  # pacemakers, metal implants, growth plates not contraindicated
KLASER = Source("KLaser", True)  # Class 4 warmth: extra attention over growth plates
TATTOO_CASE = Source("TattooCase2016", True)  # blisters over a black tattoo after laser
LIGHTFORCE = Source("LightForce", False)
PRODUCT_BRIEF = Source("ProductBrief", False)
ACP_2017 = Source("Qaseem2017", False)
GLAZOV_2016 = Source("Glazov2016", False)
