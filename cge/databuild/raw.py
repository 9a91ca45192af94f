"""The raw public files that ``make data`` reads, where to find them, and their checksums.

The project never commits a file fetched from elsewhere. ``make data`` (``python -m cge
build-data``) derives the committed data sets from the raw files listed in :data:`RAW_FILES`,
each a public file at a fixed commit of a public repository, checked against its SHA-256 before
it is used. A raw file is looked for, in order, in

1. ``data/raw/<relpath>`` of the project (git-ignored: put your copies there), then
2. ``../shared/data/<relpath>`` next to the project folder (a shared read-only copy).

:func:`locate` returns the path of one file or raises :class:`RawFileMissing` (a
:class:`FileNotFoundError`) that says where it looked and where to get the file;
:func:`missing` lists the files that cannot be found, for the build's note. A file that is found
but whose SHA-256 differs raises :class:`cge.data.benchmark.DataError`: a changed raw file would
silently change the shipped data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cge.data.benchmark import DataError
from cge.paths import ROOT


@dataclass(frozen=True)
class RawFile:
    """One raw file: its path under the raw-data folder and where it comes from."""

    relpath: str        #: path under ``data/raw/`` (and ``../shared/data/``)
    sha256: str         #: SHA-256 of the file's bytes
    repository: str     #: public GitHub repository (owner/name)
    commit: str         #: commit of that repository
    source_path: str    #: path of the file in the repository
    what: str           #: what it holds, its licence

    def hint(self) -> str:
        """Where to get the file."""
        return (f"get {self.source_path} from github.com/{self.repository} at commit "
                f"{self.commit[:12]} ({self.what}) and put it at data/raw/{self.relpath}")


_BUDGETLAB_TRACKER = ("Budget-Lab-Yale/tariff-rate-tracker",
                      "8315fffd697c42559141ed5f8bf7c8fa3da47ae8")
_BUDGETLAB_ETRS = ("Budget-Lab-Yale/Tariff-ETRs", "ffc01053986e7d7c61e9922ed7deb16d5057ab0b")
_ADB = ("ksreyes/mrio-processing", "9eb705a2eaa65d9531489ccf83dc5b81d3b153e7")


def _tracker(name: str, sha: str, what: str) -> RawFile:
    return RawFile(f"budgetlab/tariff-rate-tracker/{name}", sha, *_BUDGETLAB_TRACKER,
                   f"resources/{name}", what + "; MIT licence (The Budget Lab at Yale)")


#: Every raw file the build can read, by key.
RAW_FILES: dict[str, RawFile] = {
    "wiot_2011": RawFile(
        "wiod/wiot_2011.RData",
        "8345949612ef0ed824e4e07e140b0ce0b4c77a758975116544a2db660560efb0",
        "bquast/wiod", "59a28ac22fbd7751ea84c0f33722b5246b0af46d", "data/wiot_2011.RData",
        "WIOD 2013 release, world input-output table 2011, US$ million; WIOD terms of use "
        "(cite Timmer et al. 2015)"),
    "us_import_weights_2024": RawFile(
        "budgetlab/import_weights_hs10_country_2024.rds",
        "d1fa0aa5ce7fbc154e7014f9aa8f20bc7f0f3086aec02a25eeb7e763e10833aa",
        "Budget-Lab-Yale/Tariff-Model", "b581de878f01284b0b54efd254d62f5104af620f",
        "resources/rate_aggregation/2024/import_weights_hs10_country_2024.rds",
        "2024 US goods imports by HS10 x Census country code x GTAP sector, US$ (US Census "
        "Bureau data, public domain; cite The Budget Lab at Yale)"),
    "hs10_gtap_crosswalk": _tracker(
        "hs10_gtap_crosswalk.csv",
        "67ecd25f1ca212864d57ed28631a2ba89ac8673bbd20670190692ecf04ac198d",
        "HS10 -> GTAP sector crosswalk"),
    "census_codes": _tracker(
        "census_codes.csv",
        "71aaa5ad1ddbbcf0a2eaf9ed6a9e7152b3e2a5735fac101e3ab145629724b0b2",
        "US Census country codes and names"),
    "country_partner_mapping": _tracker(
        "country_partner_mapping.csv",
        "04b1a887aca7a25252ef74cf2203f2ba22404a7e82bb3001c630b8cf5e7ccac6",
        "Census country code -> partner group"),
    "s301_product_lists": _tracker(
        "s301_product_lists.csv",
        "f6474ee043015559d19f8713dff9d25f76f42271e07f91097db4c0635349cffb",
        "Section 301 (China) product lists, HTS8 -> List 1/2/3/4A"),
    "s232_annex_products": _tracker(
        "s232_annex_products.csv",
        "69e3c1da5e087b0f77d95f3542d0cb8b2f61600b36a78504e3c2f08495a5cabc",
        "Section 232 steel/aluminium annex products"),
    "s232_derivative_products": _tracker(
        "s232_derivative_products.csv",
        "32863a937fcd82752bb27ba457c19a60c56e12f7cf463068e3326635d40781c8",
        "Section 232 steel/aluminium derivative products"),
    "s232_auto_parts": _tracker(
        "s232_auto_parts.txt",
        "8d2214ecb718bdd3db9e21a313665e4815972c0f7a099115c843e5254569411b",
        "Section 232 auto parts (2025)"),
    "s232_mhd_parts": _tracker(
        "s232_mhd_parts.txt",
        "1411bac1b64b0510343a3d9b437b538357fceed13dffd480eee464f746a49cfb",
        "Section 232 medium/heavy-duty truck parts, HTS10 (2025)"),
    "s232_copper_products": _tracker(
        "s232_copper_products.csv",
        "bfb8ef9c3371e7b065da5eba5d6cb05a76189838e9a25dd1d2772d581930ce21",
        "Section 232 copper products, HTS8 (9903.78.01)"),
    "s122_exempt_products": _tracker(
        "s122_exempt_products.csv",
        "7a797642c061cef86aa1d4d8a328ec5a0e0a2a2819ee13b611a21343ffc956c4",
        "HTS8 lines exempt from the 2026 Section 122 surcharge"),
    "metal_content_shares_bea_hs10": _tracker(
        "metal_content_shares_bea_hs10.csv",
        "142f2f1623ea64521b4d2651decbf9bcafbbc170be6c582d61f8206e6bc7616b",
        "steel, aluminium, copper content shares by HS10 (BEA input-output tables)"),
    **{f"usmca_product_shares_{m}": _tracker(
        f"usmca_product_shares_{m}.csv", sha,
        f"USMCA-claimed share of US imports by HTS10 x country, {m[:4]}-{m[5:]}")
       for m, sha in (
           ("2025_07", "1a4db80d642b93da4fe5227ede3ee11234211b2cf035a13ebe9af3f220922f02"),
           ("2025_08", "4a461b824e8608d4e9efdc86bdc9dea7e589a36327877fdb3a5c29dbe0d78697"),
           ("2025_09", "0fd8fe2c6a90ded6d2bff5b16ddfd27cde76cbbbbe3b17dee76a564987ceb2f2"),
           ("2025_10", "5512f0fd207093a22102c8d9eb6637f2ace13b62d180317ec168476270a655a4"),
           ("2025_11", "274d01556915b448939a765935a8094c35c4522420ae3b957e07c26e87246bed"),
           ("2025_12", "d37828c9ee7b6715b8fc59fe506d6a28f72cc95e2a2bcdf46def4c1a519c98a8"))},
    "usmca_product_shares_2024": _tracker(
        "usmca_product_shares_2024.csv",
        "6c654b9a5cf0f39b48e46536ed2169645d57d58fcb5a100bdae15cb701532ba1",
        "USMCA-qualifying share of 2024 imports by HTS10 x country"),
    "mfn_rates_2025": RawFile(
        "budgetlab/tariff-etrs/mfn_rates_2025.csv",
        "bcab32546409a7ae8fdef919a0b6100d6cb8cdeb5c912375ef6b403ed92aaccd", *_BUDGETLAB_ETRS,
        "resources/mfn_rates_2025.csv",
        "HS8 MFN rates of the 2025 Basic HTS (USITC; the HTS is a US government work)"),
    "hts_2025_basic": RawFile(
        "budgetlab/tariff-etrs/hts_2025_basic_edition.csv",
        "4c2561c9ca7c94d2ee368f0bb7b32c714ba0f1bfeecc7a05f1fcdf2fae509a73", *_BUDGETLAB_ETRS,
        "resources/hts_2025_basic_edition.csv",
        "HTS 2025 basic edition with the Special (FTA preference) column (USITC)"),
    "adb_mrio_summary62": RawFile(
        "adb_mrio/summary62.parquet",
        "f55ae74f3d8bde843194808edd780450405a4d7cc61a660a6d68600864d2dd95", *_ADB,
        "data/summary62.parquet",
        "ADB MRIO summaries by economy x sector (35 sectors), 62 economies, 2000, 2007-2022, "
        "US$ million; ADB MRIO terms of use (cite the Asian Development Bank)"),
    "adb_mrio_summary72": RawFile(
        "adb_mrio/summary.parquet",
        "c6f83c91cdeb8ef065850ee709eb374c7c3c195e0a1ff7b9c6ee1b62d8cdeaab", *_ADB,
        "data/summary.parquet",
        "ADB MRIO summaries by economy x sector, 72 economies, 2017-2022, US$ million"),
    "adb_mrio_countries": RawFile(
        "adb_mrio/countries.xlsx",
        "4a983ebfc9e53056c1358927c100f53ea666b8187a1b5b5bf4bf287e7008fdd0", *_ADB,
        "data/raw/countries.xlsx", "ADB MRIO economy codes and names"),
}


class RawFileMissing(FileNotFoundError):
    """A raw file is in none of the folders searched (the message says where to get it)."""


def search_folders() -> list[Path]:
    """The folders searched for raw files, in order."""
    return [ROOT / "data" / "raw", ROOT.parent / "shared" / "data"]


def sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_VERIFIED: dict[Path, str] = {}


def locate(key: str) -> Path:
    """The path of raw file ``key`` (:data:`RAW_FILES`), its SHA-256 checked.

    Raises :class:`RawFileMissing` if it is in no search folder, :class:`DataError` if the file
    found has another SHA-256, ``KeyError`` for an unknown key."""
    spec = RAW_FILES[key]
    for folder in search_folders():
        path = folder / spec.relpath
        if path.is_file():
            digest = _VERIFIED.get(path) or sha256(path)
            if digest != spec.sha256:
                raise DataError(f"raw file {path}: SHA-256 {digest[:16]}... differs from the "
                                f"expected {spec.sha256[:16]}... ({spec.hint()})")
            _VERIFIED[path] = digest
            return path
    tried = ", ".join(str(f / spec.relpath) for f in search_folders())
    raise RawFileMissing(f"raw file {key} not found (looked in: {tried}); {spec.hint()}")


def missing(keys: list[str] | tuple[str, ...]) -> list[str]:
    """The messages of the raw files among ``keys`` that cannot be found (empty: all there)."""
    out = []
    for key in keys:
        try:
            locate(key)
        except RawFileMissing as exc:
            out.append(str(exc))
    return out
