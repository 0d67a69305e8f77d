"""The screening vocabulary: what each red flag, contraindication, precaution and diagnosis means.

Each term maps to one `Rule` (decision, referral urgency, text, source); `screening.screen` combines them.
Sources: the clinical keys of docs/references.md. A referral urgency that is our judgement rather than the
guideline's words is marked [U] in its text.
"""

from dataclasses import dataclass

TREAT = "treat"
TREAT_WITH_PRECAUTIONS = "treat-with-precautions"
DO_NOT_TREAT = "do-not-treat"
REFER = "refer"
DECISIONS = (TREAT, TREAT_WITH_PRECAUTIONS, DO_NOT_TREAT, REFER)
URGENCIES = ("routine", "urgent", "emergency")

# Sources, cited in full once (keys in docs/references.md).
NICE_NG59 = "NICE NG59 (2016), low back pain and sciatica in over 16s, rec. 1.1.1: exclude specific causes"
CKS_CES = "NICE CKS, Sciatica: interpreting red flags (suspected cauda equina: immediate admission)"
AHCPR = "AHCPR 1994 (Bigos et al., guideline no. 14): red flags for fracture, tumour, infection"
NICE_NG65 = "NICE NG65 (2017), spondyloarthritis: refer inflammatory back pain to rheumatology"
HOUGHTON = "Houghton, Nussbaum & Hoens 2010, Physiother Can 62(5), ch. 5 (low-level laser)"
NAALT = "NAALT 2010 (North American Association for Laser Therapy), contraindications and precautions"
LIGHTFORCE = "LightForce guidance: Fitzpatrick V-VI, tattoos, dense hair -> 980 nm only and a lower dose"
PRODUCT_BRIEF = "Product brief: herniated disc, spinal stenosis -> medical opinion first"
ACP_2017 = (
    "Qaseem et al. 2017 (ACP guideline): low-level laser an option for chronic LBP, low-quality evidence"
)
GLAZOV_2016 = "Glazov 2016 (meta-analysis): benefit only in trials giving >= 3 J per point"


@dataclass(frozen=True)
class Rule:
    """What one answer means for the decision.

    Attributes:
        code: the questionnaire term, e.g. "saddle-anaesthesia".
        decision: one of DECISIONS.
        urgency: one of URGENCIES when decision is "refer", else None.
        text: why, in words a clinician reads.
        source: the guideline or paper it rests on.
    """

    code: str
    decision: str
    urgency: str | None
    text: str
    source: str


def _refer(code: str, urgency: str, text: str, source: str) -> Rule:
    return Rule(code, REFER, urgency, text, source)


_CES = "suspected cauda equina syndrome: emergency referral, no laser"
RED_FLAGS: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        _refer("saddle-anaesthesia", "emergency", f"Saddle anaesthesia: {_CES}", CKS_CES),
        _refer("urinary-retention", "emergency", f"New urinary retention: {_CES}", CKS_CES),
        _refer("urinary-incontinence", "emergency", f"New urinary incontinence: {_CES}", CKS_CES),
        _refer("faecal-incontinence", "emergency", f"Faecal incontinence: {_CES}", CKS_CES),
        _refer(
            "progressive-neurological-deficit",
            "emergency",
            f"Progressive neurological deficit: {_CES}",
            CKS_CES,
        ),
        _refer(
            "major-trauma", "urgent", "Major trauma: suspected fracture, imaging first [U urgency]", AHCPR
        ),
        _refer(
            "minor-trauma-osteoporosis",
            "urgent",
            "Minor trauma in an older or osteoporotic patient: suspected fracture [U urgency]",
            AHCPR,
        ),
        _refer(
            "cancer-history", "urgent", "History of cancer: suspected spinal metastasis [U urgency]", AHCPR
        ),
        _refer(
            "unexplained-weight-loss",
            "urgent",
            "Unexplained weight loss: suspected malignancy [U urgency]",
            AHCPR,
        ),
        _refer("fever", "urgent", "Fever: suspected spinal infection [U urgency]", AHCPR),
        _refer(
            "iv-drug-use", "urgent", "Intravenous drug use: suspected spinal infection [U urgency]", AHCPR
        ),
        _refer(
            "immunosuppression", "urgent", "Immunosuppression: suspected spinal infection [U urgency]", AHCPR
        ),
        _refer(
            "night-pain",
            "routine",
            "Pain at night or at rest: exclude tumour or infection [U urgency]",
            AHCPR,
        ),
        _refer(
            "age-over-50-new-pain",
            "routine",
            "New back pain after age 50: exclude tumour or fracture [U urgency]",
            AHCPR,
        ),
        _refer(
            "age-under-20", "routine", "Back pain under age 20: exclude specific causes [U urgency]", AHCPR
        ),
        _refer(
            "inflammatory-morning-stiffness",
            "routine",
            "Inflammatory morning stiffness: suspected spondyloarthritis, rheumatology opinion",
            NICE_NG65,
        ),
    )
}

_NO_LASER = "laser contraindicated"
CONTRAINDICATIONS: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule(
            "pregnancy",
            DO_NOT_TREAT,
            None,
            f"Pregnancy: {_NO_LASER} over the abdomen, low back and pelvis",
            HOUGHTON,
        ),
        Rule(
            "malignancy-at-site",
            DO_NOT_TREAT,
            None,
            f"Known or suspected malignancy: {_NO_LASER} over it",
            HOUGHTON,
        ),
        Rule("active-bleeding", DO_NOT_TREAT, None, f"Active haemorrhage: {_NO_LASER} over it", HOUGHTON),
        Rule(
            "eye-exposure-risk",
            DO_NOT_TREAT,
            None,
            f"Risk of direct eye exposure (no eyewear possible): {_NO_LASER}",
            HOUGHTON,
        ),
        Rule("over-thyroid", DO_NOT_TREAT, None, f"Treatment area over the thyroid: {_NO_LASER}", HOUGHTON),
    )
}


def _caution(code: str, text: str, source: str = HOUGHTON) -> Rule:
    return Rule(code, TREAT_WITH_PRECAUTIONS, None, text, source)


PRECAUTIONS: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        _caution("anticoagulants", "Anticoagulants: watch for bruising and bleeding; avoid fresh haematoma"),
        _caution("steroids", "Systemic steroids: fragile skin; inspect the skin before and after"),
        _caution(
            "photosensitising-medication",
            "Photosensitising medication: test a small area first, watch for a skin reaction",
        ),
        _caution(
            "photosensitive-disorder",
            "Photosensitive disorder (e.g. lupus): test a small area first, watch the skin",
        ),
        _caution(
            "reduced-sensation",
            "Reduced sensation at the site: the patient cannot report heat; keep the skin limit, check often",
        ),
        _caution(
            "tattoo-at-site",
            "Tattoo at the site: ink absorbs strongly; avoid it or lower the dose",
            LIGHTFORCE,
        ),
        _caution("radiotherapy-6-months", "Radiotherapy in the last 6 months: avoid the irradiated field"),
        _caution("dvt", "Deep vein thrombosis: do not treat over the thrombosed vein"),
        _caution("epilepsy", "Epilepsy: avoid visible light pulsed below 30 Hz"),
        _caution(
            "dark-skin",
            "Dark skin (Fitzpatrick V-VI): more heat in the epidermis; 980 nm only and a lower dose",
            LIGHTFORCE,
        ),
        _caution(
            "pacemaker",
            "Pacemaker: not a contraindication per NAALT; some clinics avoid the device site",
            NAALT,
        ),
        _caution(
            "metal-implant",
            "Metal implant: not a contraindication per NAALT; some clinics avoid the implant site",
            NAALT,
        ),
    )
}

_ADJUNCT = "medical opinion first; laser only as an adjunct to exercise and medical care"
REFERRAL_FIRST_DIAGNOSES = {
    "herniated-disc": "Herniated disc",
    "spinal-stenosis": "Spinal stenosis",
}
_NONSPECIFIC_EVIDENCE = "small benefit vs sham, low-quality evidence; NICE CG88 (2009) advised against laser"
DIAGNOSES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule(
            "acute-nonspecific-lbp",
            TREAT,
            None,
            "Acute non-specific LBP: self-management first; laser evidence comes from chronic LBP trials [U]",
            NICE_NG59,
        ),
        Rule(
            "chronic-nonspecific-lbp",
            TREAT,
            None,
            f"Chronic non-specific LBP: {_NONSPECIFIC_EVIDENCE}",
            ACP_2017,
        ),
        Rule(
            "facet-pain", TREAT, None, "Lumbar facet pain: laser as part of a treatment package", GLAZOV_2016
        ),
        Rule(
            "sacroiliac-pain",
            TREAT,
            None,
            "Sacroiliac joint pain: laser as part of a treatment package",
            GLAZOV_2016,
        ),
        Rule(
            "radicular-pain",
            TREAT,
            None,
            "Lumbar radicular pain (sciatica): laser only as an adjunct; check neurology each session [U]",
            NICE_NG59,
        ),
        Rule(
            "myofascial-pain",
            TREAT,
            None,
            "Myofascial pain: laser as part of a treatment package",
            GLAZOV_2016,
        ),
        *(
            _refer(code, "routine", f"{name}: {_ADJUNCT}", PRODUCT_BRIEF)
            for code, name in REFERRAL_FIRST_DIAGNOSES.items()
        ),
    )
}
