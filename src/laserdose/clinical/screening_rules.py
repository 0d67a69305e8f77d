"""The screening rule table: what each red flag, contraindication, precaution and diagnosis means.

One table serves the CLI, the API and the web form. Each term maps to one `Rule` (decision, referral
urgency, text, sources, and for some precautions a change to the plan); `screening.screen` combines
them. Every rule names its sources by their docs/references.md key with [S] (read in the source) or [U]
(taken on trust, or our conservative reading). A referral urgency or a decision that is our judgement
rather than a source's words says so in its text.

Where sources disagree the table takes the cautious side and says so: over the treated site, a Class 4
beam heats the skin, so anything that stops the patient reporting heat, or that heat makes dangerous,
is do-not-treat there even where a low-power (Class 3B) source lists it only as a precaution.
"""

from dataclasses import dataclass

from laserdose.clinical import screening_sources as src
from laserdose.clinical.screening_sources import Source
from laserdose.domain.plan import REFUSED_DECISIONS, TREATABLE_DECISIONS

# The decisions, least cautious first: those under which laser may be given, then those it may not.
TREAT, TREAT_WITH_PRECAUTIONS = TREATABLE_DECISIONS
DO_NOT_TREAT, REFER = REFUSED_DECISIONS
DECISIONS = (*TREATABLE_DECISIONS, *REFUSED_DECISIONS)
URGENCIES = ("routine", "urgent", "emergency")

# IEC 60601-1 ed. 2 allowed 41 C for skin contact (ed. 3: 43 C); the lower limit for skin that heats
# more or cannot be trusted to report heat [S, the planner's skin limit source].
LOWER_SKIN_LIMIT_C = 41.0
# LightForce: dark skin, tattoos, dense hair: 980 nm only (least melanin absorption of its sources) [U].
LEAST_MELANIN_WAVELENGTHS_NM = (980.0,)


@dataclass(frozen=True)
class PlanLimit:
    """How a precaution changes the plan; the planner must honour it.

    Attributes:
        wavelengths_nm: only these wavelengths may emit; None leaves every source free.
        skin_limit_c: the skin temperature limit is at most this [C]; None leaves the clinic's.
    """

    wavelengths_nm: tuple[float, ...] | None = None
    skin_limit_c: float | None = None


@dataclass(frozen=True)
class Rule:
    """What one answer means for the decision.

    Attributes:
        code: the questionnaire term, e.g. "saddle-anaesthesia".
        decision: one of DECISIONS.
        urgency: one of URGENCIES when decision is "refer", else None.
        text: why, in words a clinician reads.
        sources: the sources it rests on, with their [S]/[U] marks.
        plan_limit: how the plan must change when the rule applies, or None.
    """

    code: str
    decision: str
    urgency: str | None
    text: str
    sources: tuple[Source, ...]
    plan_limit: PlanLimit | None = None

    @property
    def source(self) -> str:
        """The sources as shown beside the rule: "[THOR] [S] [Houghton2010] [U]"."""
        return " ".join(s.label for s in self.sources)


def _refer(code: str, urgency: str, text: str, *sources: Source) -> Rule:
    return Rule(code, REFER, urgency, text, sources)


def _stop(code: str, text: str, *sources: Source) -> Rule:
    return Rule(code, DO_NOT_TREAT, None, text, sources)


def _caution(code: str, text: str, *sources: Source, plan_limit: PlanLimit | None = None) -> Rule:
    return Rule(code, TREAT_WITH_PRECAUTIONS, None, text, sources, plan_limit)


_CES = "suspected cauda equina syndrome: emergency referral, no laser"
_CES_SOURCES = (src.CKS_SCIATICA, src.GIRFT_CES)
# A referral urgency no source sets: said in the text, in words a clinician reads.
_JUDGED = " (urgency: laserdose's judgement; no source sets it)"
_FRACTURE = f"suspected fracture, imaging first{_JUDGED}"
RED_FLAGS: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        _refer("saddle-anaesthesia", "emergency", f"Saddle anaesthesia: {_CES}", *_CES_SOURCES),
        _refer("urinary-retention", "emergency", f"New urinary retention: {_CES}", *_CES_SOURCES),
        _refer("urinary-incontinence", "emergency", f"New urinary incontinence: {_CES}", *_CES_SOURCES),
        _refer("faecal-incontinence", "emergency", f"Faecal incontinence: {_CES}", *_CES_SOURCES),
        _refer(
            "progressive-neurological-deficit",
            "emergency",
            f"Progressive neurological deficit: {_CES}",
            *_CES_SOURCES,
        ),
        _refer(
            "bilateral-sciatica", "emergency", f"Bilateral sciatica: {_CES}", src.CES_TRIAGE, src.CKS_SCIATICA
        ),
        _refer("sexual-dysfunction", "emergency", f"New sexual dysfunction: {_CES}", *_CES_SOURCES),
        _refer(
            "altered-urinary-sensation",
            "emergency",
            f"Altered urinary sensation or difficulty starting to pass urine: {_CES}",
            *_CES_SOURCES,
        ),
        _refer("loss-of-rectal-sensation", "emergency", f"Loss of rectal sensation: {_CES}", *_CES_SOURCES),
        _refer(
            "pulsatile-abdominal-mass",
            "emergency",
            "Pulsatile abdominal mass: suspected abdominal aortic aneurysm (more likely over 50, pain "
            "unchanged by movement): emergency referral, no laser",
            src.BMJ_AAA,
            src.ROBINSON_2013,
            src.CKS_BACK_PAIN,
        ),
        _refer("major-trauma", "urgent", f"Major trauma: {_FRACTURE}", src.AHCPR, src.GLOS_BACK_PAIN),
        _refer(
            "minor-trauma-osteoporosis",
            "urgent",
            f"Minor trauma in an older or osteoporotic patient: {_FRACTURE}",
            src.AHCPR,
            src.GLOS_BACK_PAIN,
        ),
        _refer(
            "long-term-corticosteroids",
            "urgent",
            f"Back pain on long-term corticosteroids: {_FRACTURE}",
            src.GLOS_BACK_PAIN,
            src.VERHAGEN_2016,
        ),
        _refer("osteoporosis", "urgent", f"Back pain with osteoporosis: {_FRACTURE}", src.GLOS_BACK_PAIN),
        _refer(
            "sudden-severe-central-pain",
            "urgent",
            f"Sudden severe central spinal pain: {_FRACTURE}",
            src.GLOS_BACK_PAIN,
        ),
        _refer(
            "cancer-history",
            "urgent",
            f"History of cancer: suspected spinal metastasis{_JUDGED}",
            src.AHCPR,
        ),
        _refer(
            "unexplained-weight-loss",
            "urgent",
            f"Unexplained weight loss: suspected malignancy{_JUDGED}",
            src.AHCPR,
        ),
        _refer("fever", "urgent", f"Fever: suspected spinal infection{_JUDGED}", src.AHCPR),
        _refer(
            "iv-drug-use", "urgent", f"Intravenous drug use: suspected spinal infection{_JUDGED}", src.AHCPR
        ),
        _refer(
            "immunosuppression",
            "urgent",
            f"Immunosuppression: suspected spinal infection{_JUDGED}",
            src.AHCPR,
        ),
        _refer(
            "night-pain",
            "routine",
            f"Pain at night or at rest: exclude tumour or infection{_JUDGED}",
            src.AHCPR,
        ),
        _refer(
            "age-over-50-new-pain",
            "routine",
            f"New back pain after age 50: exclude tumour or fracture{_JUDGED}",
            src.AHCPR,
        ),
        _refer(
            "age-under-20",
            "routine",
            f"Back pain under age 20: exclude specific causes{_JUDGED}",
            src.AHCPR,
        ),
        _refer(
            "age-under-16",
            "routine",
            "Under 16: outside the scope of the adult low back pain guideline; refer to a specialist "
            f"(paediatric) route{_JUDGED}",
            src.NICE_NG59,
        ),
        _refer(
            "inflammatory-morning-stiffness",
            "routine",
            "Inflammatory morning stiffness: suspected spondyloarthritis, rheumatology opinion",
            src.NICE_NG65,
        ),
    )
}

_HERE = "laser contraindicated over the site"
_HEAT = "Class 4 heating, conservative reading"
CONTRAINDICATIONS: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        _stop("pregnancy", f"Pregnancy: {_HERE} (abdomen, low back and pelvis)", src.HOUGHTON, src.THOR),
        _stop("malignancy-at-site", f"Known or suspected malignancy: {_HERE}", src.HOUGHTON),
        _stop("active-bleeding", f"Active haemorrhage: {_HERE}", src.HOUGHTON, src.THOR),
        _stop(
            "eye-exposure-risk",
            "Risk of direct eye exposure (no eyewear possible): laser contraindicated",
            src.HOUGHTON,
        ),
        _stop(
            "over-thyroid",
            "Treatment area over the thyroid: laser contraindicated there",
            src.HOUGHTON,
            src.THOR,
        ),
        _stop(
            "impaired-cognition",
            f"Impaired cognition or communication: the patient cannot report heat; {_HERE} ({_HEAT})",
            src.HOUGHTON,
        ),
        _stop(
            "reduced-sensation",
            "Reduced sensation over the site: the patient cannot feel heat. Houghton lists it as a "
            f"precaution for non-heating lasers; at Class 4 power we take the cautious side: {_HERE}",
            src.HOUGHTON,
            src.NAVRATIL_2002,
        ),
        _stop(
            "transdermal-patch-at-site",
            f"Transdermal drug patch at the site: heat raises drug release (fentanyl: overdose); {_HERE}",
            src.FDA_FENTANYL,
        ),
        _stop(
            "active-implant-in-field",
            "Active implant in the field (spinal cord stimulator, intrathecal pump): heat over the device, "
            f"its leads or its drug; {_HERE} (NAALT finds low-power laser over a pacemaker's metal case "
            "safe; for Class 4 heating we take the cautious side)",
            src.NAALT,
        ),
        _stop(
            "infection-at-site",
            f"Infection or skin disease at the site: {_HERE} ({_HEAT})",
            src.NAVRATIL_2002,
        ),
        _stop(
            "radiotherapy-6-months",
            f"Radiotherapy field treated in the last 6 months: {_HERE} ({_HEAT}; a precaution in Houghton)",
            src.HOUGHTON,
        ),
        _stop(
            "photosensitive-disorder",
            "Photosensitivity disorder (lupus, porphyria, xeroderma pigmentosum): "
            f"{_HERE} ({_HEAT}; a precaution in Houghton)",
            src.HOUGHTON,
            src.THOR,
        ),
        _stop(
            "bleeding-disorder",
            f"Bleeding disorder: heat dilates vessels and may worsen bleeding; {_HERE} ({_HEAT})",
            src.THOR,
            src.NAVRATIL_2002,
        ),
        _stop(
            "steroid-injection-3-weeks",
            f"Steroid injection at or near the site within the last 3 weeks (THOR: 2-3 weeks): {_HERE}",
            src.THOR,
        ),
    )
}

_LOWER_SKIN = PlanLimit(skin_limit_c=LOWER_SKIN_LIMIT_C)
_PIGMENT = PlanLimit(wavelengths_nm=LEAST_MELANIN_WAVELENGTHS_NM, skin_limit_c=LOWER_SKIN_LIMIT_C)
_PIGMENT_TEXT = "avoid or cover it; if treated through: 980 nm only and a skin limit of 41 C"
PRECAUTIONS: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        _caution(
            "anticoagulants",
            "Anticoagulants: watch for bruising and bleeding; avoid fresh haematoma",
            src.HOUGHTON,
        ),
        _caution(
            "steroids",
            "Systemic steroids: fragile skin; inspect the skin before and after",
            src.HOUGHTON,
            src.THOR,
        ),
        _caution(
            "photosensitising-medication",
            "Photosensitising medication: test a small area first, watch for a skin reaction",
            src.HOUGHTON,
            src.THOR,
        ),
        _caution("dvt", "Deep vein thrombosis: do not treat over the thrombosed vein", src.HOUGHTON),
        _caution("epilepsy", "Epilepsy: avoid visible light pulsed below 30 Hz", src.HOUGHTON),
        _caution(
            "tattoo-at-site",
            f"Tattoo in the field: ink absorbs strongly and can blister; {_PIGMENT_TEXT}",
            src.TATTOO_CASE,
            src.LIGHTFORCE,
            plan_limit=_PIGMENT,
        ),
        _caution(
            "pigmented-naevi",
            f"Pigmented naevi (moles) in the field: melanin absorbs strongly; {_PIGMENT_TEXT}",
            src.LIGHTFORCE,
            plan_limit=_PIGMENT,
        ),
        _caution(
            "dense-hair",
            f"Dense hair in the field: hair melanin heats; {_PIGMENT_TEXT}",
            src.LIGHTFORCE,
            plan_limit=_PIGMENT,
        ),
        _caution(
            "dark-skin",
            "Dark skin (Fitzpatrick V-VI): more heat in the epidermis; 980 nm only and a skin limit of 41 C",
            src.LIGHTFORCE,
            plan_limit=_PIGMENT,
        ),
        _caution(
            "open-growth-plates",
            "Open growth plates in the field: NAALT finds laser safe over them, K-Laser asks for care with "
            "Class 4 warmth; we take the cautious side: skin limit 41 C",
            src.NAALT,
            src.KLASER,
            plan_limit=_LOWER_SKIN,
        ),
        _caution(
            "pacemaker",
            "Pacemaker: not a contraindication per NAALT; some clinics avoid the device site",
            src.NAALT,
        ),
        _caution(
            "metal-implant",
            "Metal implant: not a contraindication per NAALT; some clinics avoid the implant site",
            src.NAALT,
        ),
    )
}

_ADJUNCT = "medical opinion first; laser only as an adjunct to exercise and medical care"
REFERRAL_FIRST_DIAGNOSES = {
    "herniated-disc": "Herniated disc",
    "spinal-stenosis": "Spinal stenosis",
}
# Diagnoses for which laser is not first-line: a clinician may still treat with a stated reason.
NOT_FIRST_LINE_DIAGNOSES = {"acute-nonspecific-lbp": "Acute non-specific LBP"}
_NONSPECIFIC_EVIDENCE = "small benefit vs sham, low-quality evidence; NICE CG88 (2009) advised against laser"
DIAGNOSES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        _stop(
            "acute-nonspecific-lbp",
            "Acute non-specific LBP: laser is not first-line (self-management first; laser evidence is in "
            "chronic LBP); a clinician may treat with a stated reason",
            src.NICE_NG59_ACUTE,
            src.ACP_2017,
        ),
        Rule(
            "chronic-nonspecific-lbp",
            TREAT,
            None,
            f"Chronic non-specific LBP: {_NONSPECIFIC_EVIDENCE}",
            (src.ACP_2017,),
        ),
        Rule(
            "facet-pain",
            TREAT,
            None,
            "Lumbar facet pain: laser as part of a treatment package",
            (src.GLAZOV_2016,),
        ),
        Rule(
            "sacroiliac-pain",
            TREAT,
            None,
            "Sacroiliac joint pain: laser as part of a treatment package",
            (src.GLAZOV_2016,),
        ),
        Rule(
            "radicular-pain",
            TREAT,
            None,
            "Lumbar radicular pain (sciatica): laser only as an adjunct; check neurology each session "
            "(laserdose's judgement)",
            (src.NICE_NG59,),
        ),
        Rule(
            "myofascial-pain",
            TREAT,
            None,
            "Myofascial pain: laser as part of a treatment package",
            (src.GLAZOV_2016,),
        ),
        *(
            _refer(code, "routine", f"{name}: {_ADJUNCT}", src.PRODUCT_BRIEF)
            for code, name in REFERRAL_FIRST_DIAGNOSES.items()
        ),
    )
}

ALL_RULES: dict[str, Rule] = {**RED_FLAGS, **CONTRAINDICATIONS, **PRECAUTIONS, **DIAGNOSES}
