"""The rule tables behind :func:`tui.diagnose.classify.classify`: plain data, one rule a line.

How a reply is judged
---------------------
Every rule that matches votes for its category; the vote with the highest ``priority`` wins, and
on a tie the rule that comes first in its table wins. No rule matching means ``other``.

* :data:`TEXT_RULES` are regular expressions searched in the *normalised* reply: lower-cased,
  whitespace collapsed, curly apostrophes made straight, and the ``550-5.7.1`` continuation
  prefixes of multi-line replies removed. **Write patterns in lower case** (escapes such as
  ``\\S`` or ``\\d`` are fine); a test rejects a pattern with an upper-case letter.
* **Every top-level alternative only matches where a word starts** (as if it began with
  ``(?<![a-z0-9])``): ``virus`` does not match inside ``antivirus`` (write ``antivirus`` too),
  but does match ``viruses``. This is what lets a reply be checked against only the handful of
  rules whose first word it contains (see :mod:`tui.diagnose._prefilter`). The same holds for
  :data:`PROVIDER_RULES` and :data:`BLOCKLIST_NAMES`.
* :data:`CODE_RULES` are matched in full against the enhanced status code taken from the text
  (``5.7.26``). Specific codes are strong evidence; generic ones (5.7.1, 4.7.0, 5.0.0) have no
  rule at all so that the words decide.
* ``when`` narrows a rule to a reply class: ``"4xx"``, ``"5xx"``, or one exact code (``"421"``).

To add a rule, add one line to the right band, e.g.
``Rule(r"sender blocked by (?:the )?recipient", POLICY, 66, note="Acme MTA"),``; then run
``tests/unit/test_classify.py`` (accuracy on the labelled samples and our own replies, and the
check that the prefilter still agrees with a plain search).

The priority bands (higher wins) are the precedence the categories need:

====  =====================================================================================
100   explicit greylisting
 95   explicit TLS requirement
 90   the recipient's own block list ("Customer Block list", "User Entry") → policy_block
 88   receiver reputation services whose URL says "dnsbl" (Proofpoint) → ip_reputation_block
 86   provider codes that name a public list (Yahoo BL2x, Cox IPBLxxxx) → dnsbl_listing
 83   "likely unsolicited" → content_spam (beats the provider code La Poste puts beside it)
 85   a named public/commercial blocklist, "blocked using", RBL/DNSBL → dnsbl_listing
 82   provider reason codes (Yahoo TSxx, Outlook S3140, Comcast BL000000, Orange OFRxxx_nnn,
      AOL RTR:/RLY:/HVU: …)
 81   policy texts that mention authentication or 5.7.27 without an SPF/DKIM failure (Exchange
      delivery restrictions and their codes 5.7.12x/5.7.13x, Postfix null-MX sender); SMTP AUTH
      on a submission port ("client was not authenticated") → other
 80   SPF / DKIM / DMARC / unauthenticated → authentication_failure; "identified as spammer"
 79   specific enhanced codes; volume/quota wording that must beat "complaints" and "quota";
      relaying denied → other (beats "HELO" in the explanation)
 78   PTR / rDNS / HELO / IPv6 → policy_block (beats "rate limited" in Gmail's PTR texts)
 77   "rate limited" (beats "reputation" in Outlook's 4.7.650), server-side "storage" errors
 76   mailbox full wording; the recipient's blocked-senders policy ("Blocked Senders",
      "your domain has been blocked", "User in blacklist") → policy_block
 75   reputation, complaints, banned IP, the receiver's own block list
 74   "spam sender", IP blocked in French/German/Russian; message size → other
 72   "blacklisted" with no list named, suspicious activity, connection-level refusals of the
      IP ("not allowed to connect", "bad IP") → ip_reputation_block
 71   RFC 5322/5321 compliance, headers (beats "spam" in Gmail's RFC texts) → policy_block
 70   content: spam, virus, unsolicited, bulk mail, "content"; generic "IP … blocked"
 66   sender-domain, From: address, spoofing, "rejected by recipient", not allowlisted;
      "Recipient address rejected: Policy Rejection- …" and Trend Micro BLOCK-* names
 60   recipient does not exist
 58   recipient callout unfinished ("unverified address") → other; "message blocked" → content
 57   a 451 that names a server fault ("temporary server error") → other
 56   generic rate wording: too many, per hour, limits, volume, busy
 55   "recipient address rejected" (weak user_unknown); "try again later" on a 421 or 451
 50   the bare word "policy"; "deferred" on a 4xx reply; weak TLS words
 45   "mailbox unavailable" (Microsoft/GMX use it for policy rejects as well)
 40   generic enhanced codes X.1.1, X.2.2 …
 35   server errors → other
 30   the bare word "blocked" → ip_reputation_block
 10   a bare 421 → rate_limit
====  =====================================================================================
"""

from __future__ import annotations

from typing import NamedTuple

IP_REPUTATION = "ip_reputation_block"
DNSBL = "dnsbl_listing"
RATE = "rate_limit"
AUTH = "authentication_failure"
POLICY = "policy_block"
CONTENT = "content_spam"
USER = "user_unknown"
FULL = "mailbox_full"
GREY = "greylisting"
TLS = "tls_required"
OTHER = "other"

CATEGORIES: tuple[str, ...] = (
    IP_REPUTATION,
    DNSBL,
    RATE,
    AUTH,
    POLICY,
    CONTENT,
    USER,
    FULL,
    GREY,
    TLS,
    OTHER,
)
"""Every category, in display order; the first five are reasons a mailstream gets blocked."""

BLOCK_REASONS: frozenset[str] = frozenset(CATEGORIES[:5])


class Rule(NamedTuple):
    """One text rule: a lower-case regex, the category it votes for, and its priority."""

    pattern: str
    category: str
    priority: int
    when: str = ""
    note: str = ""


# Reused fragments (lower case).
# fmt: off
_LISTS = (
    r"spamhaus|spamcop|\bsorbs\b|uceprotect|barracudacentral|\bbrbl\b|barracuda ?(?:networks)?"
    r"\S* ?reputation|abuseat\.org|\bcbl\b|cloudmark|mailspike|\bpsbl\b|surriel|manitu|nix ?spam"
    r"|spamrats|\brats-|backscatterer|dronebl|blocklist\.de|invaluement|\bivm(?:sip|uri)\b"
    r"|mail-abuse\.(?:com|org)|trend ?micro (?:rbl|ers|email reputation|network reputation)"
    r"|hostkarma|junkemailfilter|0spam|s5h\.net|spameatingmonkey|abusix|\bsurbl\b|\buribl\b"
    r"|rfc-ignorant|senderscore|lashback|unsubscore|nordspam|spam\.fail|anonmails|\battrbl\b"
    r"|\bdsbl\b|\bnjabl\b|gbudb"
    r"|\bspfbl\b|\bsbl\d*\b|\bxbl\b|\bpbl\b|\bdbl\b|\bzen\b"
)
_NOT_OURS = r"(?!our\b|my\b|this\b|the (?:recipient|local|customer|admin|administrator)\b)"
_SUBJECT_IP = (
    r"\b(?:ip|ip address|client|client host|sending ip|sending host|host|network|mta|sender ip"
    r"|your (?:ip|ip address|server|host|network|mail server|address))"
)
# What may stand between a subject and its verb: the address itself, "[1.2.3.4]", "(host)".
_OBJECT = r"(?: (?:\[[^\]\s]{1,100}\]|\( ?[^)\s]{1,100} ?\)|<[^>\s]{1,100}>|[\w.:-]{1,100}@[\w.-]{1,100}|\d[\d.:a-f]{1,60}))?"
_AUX = r"(?: (?:is|are|was|were|has|have|been|being|now|temporarily|temporary|permanently|currently))*"

TEXT_RULES: tuple[Rule, ...] = (
    # --- greylisting ------------------------------------------------------------------------
    Rule(r"gr[ea]y ?list", GREY, 100, note="postgrey, milter-greylist, 'greylisted for N seconds'"),
    Rule(r"not yet authori[sz]ed to deliver", GREY, 95, note="cPanel/Exim greylisting"),
    Rule(r"internal resources? (?:is |are )?temporarily unavailable", GREY, 95, note="Mimecast 451: its greylisting (triplet) deferral"),
    # --- TLS required -----------------------------------------------------------------------
    Rule(r"must issue a starttls|starttls (?:is )?(?:required|mandatory)|requires? starttls", TLS, 95),
    Rule(r"\btls\b(?: [\w'-]{1,20}){0,4} (?:required|mandatory|needed)|requiretls", TLS, 95),
    Rule(r"(?:session )?encryption (?:is )?(?:required|needed|mandatory)|must be encrypted", TLS, 95),
    Rule(r"(?:wasn't|was not|not) sent over (?:a )?(?:tls|secure|encrypted)", TLS, 95, note="Gmail 4.7.29"),
    Rule(r"(?:secure|encrypted|tls) (?:connection|channel|transport|session) (?:is )?(?:required|needed|mandatory)", TLS, 95),
    Rule(r"requires? (?:a )?(?:secure|encrypted) (?:connection|channel|transport)", TLS, 95),
    Rule(r"(?:high|strong)[- ]strength ciphers?|cipher strength|requires? (?:a )?(?:tls|ssl) version|\btls ?(?:v|version ?)?1\.[0-3] or (?:greater|higher|later|above)", TLS, 95, note="Mimecast 553 'This route requires …'"),
    # --- the recipient's own lists: policy, not a public blocklist ----------------------------
    Rule(r"customer block ?list|(?:tenant|organi[sz]ation|domain|user|recipient)(?:'s)? (?:custom )?(?:block|black|deny) ?list", POLICY, 90, note="Outlook 5.7.513 and alike"),
    Rule(r"local (?:block|black|deny) ?list|personal (?:block|black) ?list|\b(?:user|admin|administrator|policy|personal)(?: domain)? entry\b", POLICY, 90, note="Mimecast 'Envelope blocked - User Entry'"),
    Rule(r"(?:rejected|blocked|refused) by (?:the |this )?(?:recipients?|user|destination domain)\b|user refused to receive", POLICY, 66),
    Rule(r"blocked senders?\b|manual(?:ly)? block|(?:sender|envelope|from) address(?: \S+)? (?:has been |is |was )?blocked|your (?:e-?mail address|domain|envelope sender|sender address) (?:has been|is) (?:blocked|black ?listed|banned)|(?:user|recipient)s? in (?:the |their |a )?(?:block|black) ?list|(?:sender|domain|address) is on (?:the )?(?:domain|recipient|user)'?s? (?:block|black) ?list|badmailfrom", POLICY, 76, note="the recipient's blocked-senders policy (Mimecast, Symantec, Coremail): per sender, not the IP"),
    Rule(r"delivery restriction|sendernotauthenticated|sendernotallowed|not authenticated (?:for|when sending to|by) (?:this |the |a |your |the recipient's )?(?:group|mailbox|public folder|mail user|organi[sz]ation)|not (?:in|on) (?:the |group's )?allowed[- ]senders? list", POLICY, 81, note="Exchange 5.7.12x/5.7.13x: 'authentication required' here is not SPF/DKIM"),
    Rule(r"not (?:in|on) (?:the |our |your )?(?:white|allow|safe) ?list|not (?:white|allow) ?listed", POLICY, 66, note="Gmail 421 'IP not in whitelist for RCPT domain'"),
    # --- receiver reputation services (their URLs say dnsbl but they are not public lists) ---
    Rule(r"proofpoint\.com/dnsbl|ipcheck\.proofpoint|prs\.proofpoint|proofpoint (?:dynamic |ip )?reputation", IP_REPUTATION, 88, note="Proofpoint's own list"),
    # --- public or commercial blocklists ----------------------------------------------------
    Rule(r"\bdnsbls?\b|\brbls?\b|_rbl_|\bdnsxl\b|\brbl\+", DNSBL, 85),
    Rule(r"blocked using |blocked by (?:\S+\.)?(?:" + _LISTS + r")", DNSBL, 85),
    Rule(_LISTS, DNSBL, 85, note="a list named by name or zone"),
    Rule(r"\(ers\)|\bers-[a-z]|email reputation services?\b", DNSBL, 85, note="Trend Micro ERS (RBL+, QIL, zombie): a commercial list"),
    Rule(r"\blisted (?:in|at|on|by) " + _NOT_OURS, DNSBL, 84),
    Rule(r"black ?list(?:ed)? (?:at|in|on|by) " + _NOT_OURS, DNSBL, 84),
    Rule(r"realtime (?:black|block) ?list|\b(?:dnsbl|rbl|bl|sbl|xbl|dbl)(?:[-_][a-z0-9]+|\d+)?\.[a-z0-9-]+\.[a-z]{2,}", DNSBL, 84),
    # --- provider reason codes ----------------------------------------------------------------
    Rule(r"\[(?:ts0[123]|tss0?9|tss1[0-9])\]", IP_REPUTATION, 82, note="Yahoo TS01/TS03/TSS09/TSS11"),
    Rule(r"\[ph0\d\]|not accepted for policy reasons", POLICY, 82, note="Yahoo PH01"),
    Rule(r"\[bl2\d\]", DNSBL, 86, note="Yahoo BL21/BL23: Spamhaus"),
    Rule(r"\(?s31[45]0\)?|\bsc-00[1-4]\b|\bou-00[1-2]\b", IP_REPUTATION, 82, note="Outlook S3140/S3150, Hotmail SC-00x/OU-00x"),
    Rule(r"\bs3115\b|\brp-00[1-3]\b", RATE, 82, note="Outlook S3115, Hotmail RP-00x"),
    Rule(r"\bdy-00[1-3]\b", POLICY, 82, note="Hotmail DY-00x: dynamic IP"),
    Rule(r"\bbl0{6}\b", IP_REPUTATION, 82, note="Comcast BL000000"),
    Rule(r"\bbl000(?:00[1-9]|0[1-9]\d|[1-9]\d\d)\b", DNSBL, 86, note="Comcast BL000001…BL000111: Spamhaus, Cloudmark CSI, SenderScore"),
    Rule(r"\(bl\)", IP_REPUTATION, 82, note="T-Online '(BL)': the IP is on its block list"),
    Rule(r"\brtr:(?:bl|sc|gl)\b|\bcon:b1\b|\brly:b[23l]\b", IP_REPUTATION, 82, note="AOL RTR:BL, CON:B1, RLY:B2 …"),
    Rule(r"\brtr:(?:bb|du|rd)\b|\brly:(?:ir|sn)\b", POLICY, 82, note="AOL dynamic IP, rDNS, unauthorised sender"),
    Rule(r"\brly:b1\b|\bdyn:t\d\b", RATE, 82, note="AOL rate limits"),
    Rule(r"\bhvu:b\d\b|\brly:bd\b|\b(?:rtr|rly):ch\b", CONTENT, 82, note="AOL content blocks"),
    Rule(r"\brl\d{6}\b", RATE, 82, note="Comcast RL0000x0"),
    Rule(r"aup#(?:cxbl|cdrbl|cxthrt|cxmj)", IP_REPUTATION, 82, note="Cox"),
    Rule(r"aup#ipbl", DNSBL, 86, note="Cox IPBLxxxx: Spamhaus/CSI/Return Path/Invaluement"),
    Rule(r"aup#(?:cxcnct|cxmxrt)", RATE, 82, note="Cox"),
    Rule(r"aup#(?:cxdns|cxsmtp)", POLICY, 82, note="Cox"),
    Rule(r"aup#cxsndr", AUTH, 82, note="Cox"),
    Rule(r"aup#urlbl", CONTENT, 82, note="Cox: a URL in the message is listed"),
    Rule(r"\b(?:ofr|lpn|ouk)\d{0,3}[_-](?:102|103|510|999)\b", IP_REPUTATION, 82, note="Orange/La Poste"),
    Rule(r"\b(?:ofr|lpn|ouk)\d{0,3}[_-]104\b|trop de connexions", RATE, 82, note="Orange"),
    Rule(r"\b(?:ofr|lpn|ouk)\d{0,3}[_-](?:416|418|420|426)\b", USER, 82, note="Orange"),
    Rule(r"\b(?:ofr|lpn|ouk)\d{0,3}[_-]417\b", FULL, 82, note="Orange"),
    Rule(r"\b(?:ofr|lpn|ouk)\d{0,3}[_-]506\b", CONTENT, 82, note="Orange"),
    Rule(r"\b(?:ofr|lpn|ouk)\d{0,3}[_-](?:305|401|402)\b", AUTH, 82, note="Orange"),
    Rule(r"\b(?:ofr|lpn|ouk)\d{0,3}[_-](?:403|405|415|421)\b", POLICY, 82, note="Orange: invalid sender"),
    Rule(r"error-messages\?\S*\bc=(?:poli|ipbl|bl)\b", IP_REPUTATION, 82, note="GMX/Web.de: IP-based reject"),
    Rule(r"error-messages\?\S*\bc=(?:rdns|irdns)\b", POLICY, 82, note="GMX/Web.de: rDNS"),
    Rule(r"sender address rejected: domain \S+ does not accept mail", POLICY, 81, note="Postfix 5.7.27: the sender domain has a null MX (RFC 7505)"),
    # --- authentication ---------------------------------------------------------------------
    Rule(r"client (?:was |is )?not authenticated|(?:smtp )?authentication (?:is )?required\b(?! for (?:dmarc|spf|dkim))|smtp auth(?:entication)?\b|incorrect authentication data|submitter failed to authenticate|not logged in", OTHER, 81, note="SMTP AUTH on a submission/relay port, not sender authentication"),
    Rule(r"\bspf\b|openspf|sender policy framework", AUTH, 80),
    Rule(r"\bdkim\b|domain ?keys", AUTH, 80),
    Rule(r"\bdmarc\b", AUTH, 80),
    Rule(r"unauthenticated|not (?:properly )?authenticated|authentication (?:check|checks|fail|failed|failure|results?|required|level)|failed (?:to pass )?authentication|(?:must|to) authenticate|authentification", AUTH, 80),
    Rule(r"not (?:allowed|authori[sz]ed|permitted) to send (?:mail |email |messages )?(?:from|on behalf|for)\b", AUTH, 80),
    # --- volume wording that must beat "complaints" / "quota" ---------------------------------
    Rule(r"unexpected volume", RATE, 79, note="Yahoo TSS04 'unexpected volume or user complaints'"),
    Rule(r"(?:queue|sending|send|daily|hourly|message|recipient|rate|submission) quota|quota for (?:sending|messages)", RATE, 79),
    Rule(r"unusual (?:rate|amount|volume) of (?:unsolicited|spam)", RATE, 78, "4xx", "Gmail 421: temporary"),
    Rule(r"unusual (?:rate|amount|volume) of (?:unsolicited|spam)", IP_REPUTATION, 78, "5xx", "Gmail 550: blocked"),
    # --- PTR / rDNS / HELO / IPv6 --------------------------------------------------------------
    Rule(r"must have (?:a |an )?(?:valid )?(?:ptr|reverse[- ]?dns|rdns)\b", POLICY, 83, note="an explicit PTR requirement beats the provider's rate code beside it (Comcast '… must have a PTR record … #RL000000')"),
    Rule(r"\bptr\b|reverse[- ]?dns|reverse (?:hostname|host name|lookup|name|mapping|resolution)|\brdns\b|\bfcrdns\b|forward[- ]confirmed|pointer record", POLICY, 78),
    Rule(r"does(?: not|n't) resolve|cannot (?:find|resolve) your (?:host ?name|reverse|address)|name lookup failed|possibly forged|(?:unknown|unresolvable|invalid|forged|generic) (?:client )?host ?name|host ?name (?:lookup )?(?:failed|mismatch|does not match)", POLICY, 78),
    Rule(r"(?:dynamic|residential|dial-?up|dynamically[- ]assigned)(?:[ /-][\w'-]{1,20}){0,2}[ /-](?:ip|ips|hosts?|dns|address|addresses|pool|range|ranges)\b|hosts with dynamic|generic dns", POLICY, 78),
    Rule(r"\b(?:helo|ehlo)\b(?!\))|fully[- ]qualified|\bfqdn\b", POLICY, 78, note="'(EHLO)' alone only names the stage"),
    Rule(r"over ipv6|ipv6 (?:is )?not (?:supported|accepted|allowed)", POLICY, 78),
    # --- rate limits --------------------------------------------------------------------------
    Rule(r"rate[- ]?limit|ratelimit", RATE, 77),
    # --- server-side errors that look like quota --------------------------------------------
    Rule(r"insufficient system (?:storage|resources)|insufficient disk space|(?:mail )?system (?:storage|disk) (?:is )?full|mail system full|too many (?:hops|related errors)|hop count|mail loop|loop detected", OTHER, 77),
    # --- mailbox full ---------------------------------------------------------------------------
    Rule(r"over ?quota|quota (?:exceeded|violation|full|limit)|(?:exceed|exceeded|exceeds|exceeding) (?:the |their |its |his |her |your )?(?:storage|mailbox|disk|quota)|storage (?:allocation|limit|quota)|disk quota|insufficient storage(?: space)? for|not enough (?:storage|space) for|quota d[ée]pass[ée]|speicherplatz", FULL, 76),
    Rule(r"(?:mail ?box|inbox|box|account|postfach|destinataire) (?:is |ist )?(?:full|over ?quota|voll|pleine)|mailbox (?:size|storage)|(?:recipient|user|mailbox|account)(?:'s)? storage (?:is )?full|bo[iî]te .{0,30}pleine|postfach voll|переполнен|mailbox has exceeded", FULL, 76),
    # --- reputation -----------------------------------------------------------------------------
    Rule(r"reputation|senderbase|talosintelligence", IP_REPUTATION, 75),
    Rule(r"(?:user|spam|abuse) complaints|complaints? (?:from|by) (?:our )?users|high (?:number|rate|level) of complaints", IP_REPUTATION, 75),
    Rule(r"(?:due to|because of|for) abuse|spam abuse|abuse detected|abusive|banned (?:sending )?(?:ip|sender|network|host|by)\b|(?:ip|sender|host) (?:address )?(?:has been |is )?banned", IP_REPUTATION, 75),
    Rule(r"permanently deferred|retrying will not|will not succeed", IP_REPUTATION, 75, note="Yahoo TS03/TSS09"),
    Rule(r"part of (?:their|your) network|(?:our|internal|my) (?:block|black|deny|ban) ?list|sender\.office\.com|delist", IP_REPUTATION, 75),
    Rule(r"not (?:currently )?accept(?:ed|ing)?(?: [\w'-]{1,20}){0,3} from (?:your|this|the sending|the) (?:ip|ip address|network|host|server|mta)\b", IP_REPUTATION, 75),
    Rule(r"spam(?:mer)? (?:sender|source)|known spammer|(?:sending|source of|sent) (?:too much )?spam|spamming|you are (?:a )?spammer|too many spams|currently sending spam|suspected spam(?:mer| sender| ip| source| host)|(?:looks|appears) (?:suspiciously )?like (?:a )?spammer|amount of spam from", IP_REPUTATION, 74),
    Rule(r"(?:identified|classified|flagged|listed) as (?:a )?spammer", IP_REPUTATION, 80, note="beats 'relaying denied' in Postfix access-map texts"),
    Rule(r"\b(?:black|block|deny) ?list(?:ed)?\b|\bblack listed\b", IP_REPUTATION, 72, note="no public list named: the receiver's own list"),
    Rule(r"suspicious (?:activity|behaviou?r)|compromised", IP_REPUTATION, 72),
    Rule(r"ip source bloqu|adresse ip(?: \S+){0,2} (?:est )?bloqu|ip-adresse(?: \S+){0,2} (?:ist )?(?:gesperrt|blockiert)|черн\w* спис", IP_REPUTATION, 74, note="French, German, Russian"),
    Rule(_SUBJECT_IP + r"(?: network)?" + _OBJECT + _AUX + r" (?:blocked|blacklisted|blocklisted|banned|refused|not allowed|not permitted)\b", IP_REPUTATION, 70),
    Rule(r"\bip(?: address)? (?:is|was|has been) rejected\b|\bbad ip\b|not allowed to connect|access to (?:submit messages to )?this (?:e-?mail |mail )?system has been (?:rejected|denied)|connection (?:rejected|refused|denied) (?:by|due to) (?:local )?policy|(?:block|blocked) for spam(?:ming)?\b(?! content)|bad outbound sender", IP_REPUTATION, 72, note="connection-level refusals of the sending IP"),
    # --- content --------------------------------------------------------------------------------
    Rule(r"\bspam\b|\bspam-like|\bspammy\b|\bjunk(?: ?mail)?\b|спам|pourriel|\bube\b|\buce\b", CONTENT, 70),
    Rule(r"unsolicited|\bcontent\b|contents? (?:rejected|denied|filter)|message body|bulk (?:e-?mail|mail)(?! senders?)", CONTENT, 70),
    Rule(r"virus|antivirus|malware|antimalware|phish|antiphish|antispam|trojan|infected|\bbanned\b|attachment|executable|forbidden (?:file|extension)|\bmacros?\b|dangerous|unsafe content", CONTENT, 70),
    Rule(r"message (?:was |has been )?filtered|filtered by (?:the )?(?:\w+ )?(?:scanning|filter)", CONTENT, 70),
    Rule(r"likely unsolicited|contenu non sollicit", CONTENT, 83, note="La Poste LPN007_510 says what it is: beats the provider-code rule"),
    Rule(r"suspicious|suspected|suspicion", CONTENT, 58),
    Rule(r"\bmessage (?:was |has been |is )?blocked\b", CONTENT, 58, note="the message, not the IP, is what was blocked"),
    # --- relay / size (other) -------------------------------------------------------------------
    Rule(r"relay(?:ing)? (?:access )?(?:denied|not (?:allowed|permitted))|unable to relay|open relay|not (?:allowed|permitted) to relay|we do not relay|list of allowed rcpthosts|relay(?:ing)? (?:is )?(?:disallowed|prohibited)", OTHER, 79, note="beats 'HELO'/'sender' in Google's relay explanations"),
    Rule(r"message (?:size|too (?:big|large))|size limits?|(?:exceeds?|exceeded) (?:the )?(?:maximum|fixed maximum)? ?(?:message )?size|too (?:big|large)|zu gro(?:ß|ss)|trop (?:gros|volumineux)", OTHER, 74),
    Rule(r"(?:number of|too many) attachments|header size|per individual header|header (?:value |line )?(?:too long|too large)", OTHER, 74, note="Gmail 552 5.3.4 attachment/header limits"),
    # --- policy ---------------------------------------------------------------------------------
    Rule(r"sender (?:address |domain |is |was )?(?:rejected|denied|refused)|(?:verify|verification of) (?:sender|mail ?from) failed|mail ?from verif\w* failed|null sender|empty (?:envelope )?sender (?:is )?not allowed|mail ?from (?:address )?(?:is )?mismatch\w* with (?:the )?(?:message )?header|sender domain|domain of sender|mail ?from domain (?:does not exist|not found|invalid)|(?:envelope sender|return[- ]path)(?: [\w.@<>-]{1,100})?(?: domain)?(?: is| does)? (?:not exist|invalid|not found)|unresolvable (?:rfc\.?5321 )?(?:from )?domain|sender verify failed|sender verification|could not verify sender|unverified sender|invalid sender|bad sender|unknown sender|mail from not owned", POLICY, 66),
    Rule(r"your (?:sending )?domain (?:does not exist|doesn't exist|is not valid|not found)", POLICY, 66),
    Rule(r"(?:sender|sender's|your) (?:domain'?s? )?mx (?:record )?(?:is )?not allowed|invalid dns (?:mx|a)\b|(?:no|invalid|missing) (?:dns )?mx (?:or a )?(?:record|resource record)", POLICY, 66, note="the sender domain's DNS"),
    Rule(r"\bmismatch\w* (?:the )?client ip", AUTH, 80, note="MAIL FROM domain not matching the connecting IP (NetEase): an SPF-style check"),
    Rule(r"rfc ?(?:5322|2822|822|5321|2821)|rfc[- ]?compliant|not (?:rfc )?compliant|headers? (?:are |is )?(?:not|invalid|malformed|missing)|(?:invalid|malformed|broken) (?:message )?headers?|stray (?:line ?feeds?|lf)|bare (?:lf|line ?feeds?|cr)\b|missing (?:a )?valid|(?:no|invalid|missing) from:? header|from: header|syntax is not permitted", POLICY, 71, note="beats 'spam' in Gmail's RFC 5322 texts"),
    Rule(r"(?:blank|empty|invalid|missing|no) from:? (?:address|addresses|domain)\b|from:? (?:domain|address) (?:is )?(?:invalid|not valid|missing|blank)|as a from:? address|provide a valid from", POLICY, 66, note="GoDaddy IB501/IB502/IB506"),
    Rule(r"spoof|forged (?:sender|from|address)|impersonat", POLICY, 66),
    Rule(r"administrative prohibition|improper use of smtp|pipelining|not authori[sz]ed to send (?:e-?mail|mail|messages) directly|use the smtp relay", POLICY, 66),
    Rule(r"recipient address rejected: (?:blocked|denied|rejected) by\b", POLICY, 61, "5xx", "'Recipient address rejected: blocked by <policy>' names a policy on the recipient side, not an unknown user ('Access denied' alone stays: Microsoft 365 says it for an unknown recipient)"),
    Rule(r"administratively (?:denied|prohibited|rejected|blocked)", POLICY, 66, note="qmail 553 'sorry, your mail was administratively denied'"),
    Rule(r"spam ?assassin", CONTENT, 73, note="a content filter's verdict, not the IP's"),
    Rule(r"client host rejected: access denied|delivery not authori[sz]ed|not (?:allowed|authori[sz]ed|permitted) to send to", POLICY, 66),
    # --- user unknown --------------------------------------------------------------------------
    Rule(r"user unknown|unknown (?:user|recipient|mailbox|e-?mail address|address|local[- ]part|alias)|addressee (?:is )?unknown|no such (?:user|mailbox|recipient|address|account|person|local user)", USER, 60),
    Rule(r"\b(?:user|recipient|mailbox|address|account|alias)" + _OBJECT + r"(?: that you tried to reach)?" + _AUX + r" (?:not found|not known|not exist|no longer (?:valid|active|exists?)|inactive|disabled|deactivated|suspended|closed|deleted|expired|locked|unknown)\b", USER, 60),
    Rule(r"(?:deactivated|inactivated|inactive|disabled|suspended|nonexistent|non-existent) (?:user|mailbox|account|recipient|e-?mail address)\b|(?:user|account|mailbox)(?: \S+){0,2} (?:not activated|inactivated|status is locked|no exist)|(?:now )?disabled with mta service|not a member of (?:this |the )?domain|all recipients (?:are )?invalid|no valid recipients|mailbox (?:name )?(?:is )?not allowed", USER, 60),
    Rule(r"invalid[- ](?:recipient|mailbox|user|address|e-?mail address)|not a valid (?:e-?mail )?(?:address|user|mailbox|recipient)|is no longer valid|no longer (?:valid|in use)", USER, 60),
    Rule(r"\bdoes(?: not|n't) exist|no mailbox|mailbox not found|not in recipient list|recipient not found|unrouteable address|undeliverable address|bad (?:recipient|destination)|archived recipient|doesn'?t have an? \S+ account|recip(?:ient)?notfound|no-domain|domain not found|host unknown|domain (?:does not exist|doesn't exist|unknown)", USER, 60),
    Rule(r"not our customer|destinataire (?:invalide|inconnu)|adresse (?:e-?mail )?(?:invalide|inconnue)|compte (?:inexistant|d[ée]sactiv[ée])|(?:benutzer|empf[aä]nger|adresse|postfach) (?:ist )?(?:unbekannt|gesperrt|deaktiviert)|n'existe pas|utilisateur inconnu|benutzer unbekannt|unbekannte?r? (?:benutzer|empf[aä]nger)|existiert nicht|nicht vorhanden|no existe|usuario desconocido|не существует|нет такого|не найден|несуществующ|неверный адрес|utente sconosciuto|inesistente", USER, 60),
    Rule(r"policy rejection\b|\bblock-(?:send-?er|sender|rcpt|recipient|domain|ip)\b", POLICY, 66, note="'Recipient address rejected: Policy Rejection- …', Trend Micro BLOCK-SENDER/BLOCK-RCPT: the recipient side's rules, not an unknown user"),
    Rule(r"unverified address|address verification (?:is )?in progress|recipient verification (?:failed|in progress|unavailable)|could not verify (?:the )?recipient", OTHER, 58, note="recipient callout could not finish: neither unknown user nor block"),
    Rule(r"recipient address(?:es)? rejected|recipients? (?:were |was )?rejected|rcpt rejected|address rejected", USER, 55),
    # --- generic rate ---------------------------------------------------------------------------
    Rule(r"too many (?:recent |new |concurrent )?(?:connections?|concurrent|simultaneous|sessions?|messages?|mails?|e-?mails?|recipients?|rcpts?|requests?|smtp|invalid|commands?|deliveries|errors)|too (?:much )?(?:e-?mail|mail|load)|too (?:fast|quickly|frequent)|receiving mail (?:too quickly|at a rate)", RATE, 56),
    Rule(r"\brate\b|throttl|slow down|(?:exceed(?:ed|s|ing)?|over|reached|hit)(?: [\w'-]{1,30}){0,4} (?:limits?|threshold|maximum)\b|limit (?:exceeded|reached)|(?:connection|message|recipient|sending|hourly|daily) limit|limits? for how many|per (?:hour|day|minute|second)\b|max(?:imum)? (?:number of )?(?:connections|messages|recipients|message per connection)|concurrent connections", RATE, 56),
    Rule(r"volume|(?:server|system|service|host)\S{0,4} (?:is )?(?:currently )?busy|too busy", RATE, 56),
    Rule(r"frequency limit(?:ed)?|(?:sending|send|connection|ip|domain|sender) frequency (?:limit|too high|exceeded)", RATE, 56, note="Tencent QQ 'Ip frequency limited'"),
    Rule(r"trop de (?:connexions|messages|destinataires|mails)|zu viele (?:verbindungen|nachrichten|empf[aä]nger|mails|e-mails)|слишком много|превышен", RATE, 56, note="French, German, Russian"),
    Rule(r"try (?:again )?later|retry later|come back later|try later", RATE, 55, "421"),
    Rule(r"try (?:again )?later|retry later|come back later|try later|unable to (?:process|accept) (?:your |the |any )?(?:connection|messages?|mail|e-?mails?) at this time", RATE, 55, "451"),
    Rule(r"internal (?:server )?error|(?:server|local|system) error|temporary (?:server |local |system )?(?:error|failure|problem)|local error in processing|\bi/o error", OTHER, 57, "451", "a 451 that names a server fault is not a throttle"),
    Rule(r"\bdeferred\b|temporarily (?:delayed|suspended|restricted)", RATE, 50, "4xx"),
    # --- weak signals -----------------------------------------------------------------------
    Rule(r"\bpolic(?:y|ies)\b", POLICY, 50),
    Rule(r"starttls|\btls\b|\bssl\b|certificate|encrypt|unencrypted", TLS, 50),
    Rule(r"mailbox unavailable or access denied", OTHER, 46, note="Tencent QQ's reason-less reject"),
    Rule(r"mailbox (?:is )?unavailable|mailbox (?:\S+@\S+ )?is unavailable", USER, 45),
    Rule(r"internal (?:server )?error|(?:system|server|local) (?:error|problem|failure)|temporary (?:server |local )?(?:error|failure|problem)|unknown error|license expired|not accepting (?:network )?messages|shutting down|timed? ?out|connection (?:lost|dropped|reset|expired)|dns (?:resolution|lookup) fail", OTHER, 35),
    Rule(r"\bblock(?:ed|ing)?\b", IP_REPUTATION, 30),
    Rule(r"", RATE, 10, "421", "a bare 421 means 'closing the channel, try later'"),
)
# fmt: on


class CodeRule(NamedTuple):
    """One enhanced-status-code rule: a regex matched in full against e.g. ``5.7.26``."""

    pattern: str
    category: str
    priority: int
    when: str = ""
    note: str = ""


# fmt: off
CODE_RULES: tuple[CodeRule, ...] = (
    CodeRule(r"4\.7\.28", RATE, 79, note="Gmail: rate of unsolicited mail, temporary"),
    CodeRule(r"5\.7\.28", IP_REPUTATION, 79, note="Gmail: rate of unsolicited mail, blocked"),
    CodeRule(r"[45]\.7\.(?:2[0-2]|24|26|27|30|32)", AUTH, 79, note="RFC 8601/7372 DKIM/SPF; Gmail 4.7.27/30/32"),
    CodeRule(r"[45]\.7\.2[35]", POLICY, 79, note="Gmail: PTR (X.7.23 SPF elsewhere; SPF text wins)"),
    CodeRule(r"[45]\.7\.(?:29|10|11)", TLS, 79, note="Gmail 4.7.29; RFC 5248 X.7.10 encryption needed"),
    CodeRule(r"5\.7\.(?:509|515)", AUTH, 79, note="Outlook DMARC / authentication level"),
    CodeRule(r"5\.7\.(?:50[1-3]|511|6[0-4]\d|70[5-9])", IP_REPUTATION, 79, note="Outlook banned sender/IP"),
    CodeRule(r"5\.7\.(?:506|507|510|512|513|750)", POLICY, 79, note="Outlook HELO, IPv6, RFC 5322 From, customer list"),
    CodeRule(r"5\.7\.(?:12|12[4-9]|13[3-6])", POLICY, 81, note="Exchange delivery restrictions: 'sender not authenticated' for a group or mailbox is not SPF/DKIM"),
    CodeRule(r"4\.7\.[56]\d\d|5\.7\.508|[45]\.2\.12[12]", RATE, 79, note="Outlook temporary restrictions and hourly limits"),
    CodeRule(r"[45]\.2\.2", FULL, 45),
    CodeRule(r"[45]\.1\.(?:1|2|3|6|10)|5\.2\.1|[45]\.7\.1[37]", USER, 40),
    CodeRule(r"[45]\.1\.[78]", POLICY, 40, note="bad sender address / sender's system address"),
)
# fmt: on


class ProviderRule(NamedTuple):
    """Which receiver sent the reply: the first rule that matches the lower-cased text wins."""

    pattern: str
    provider: str


# fmt: off
PROVIDER_RULES: tuple[ProviderRule, ...] = (
    # Mailbox providers first: their replies may cite a filter vendor or a blocklist.
    ProviderRule(r"gsmtp|\bgmail\b|googlemail|google\.com|\bgoogle\b|e-?mail senders? guidelines", "gmail"),
    ProviderRule(r"\baol\b|aol\.com|aol\.jp", "aol"),
    ProviderRule(r"yahoo|yahoodns|verizonmedia|\[(?:tss?\d\d|ph\d\d|bl\d\d|gl\d\d|ipts\d\d)\]", "yahoo"),
    ProviderRule(r"outlook\.com|hotmail|\blive\.com|office365|office\.com|microsoft|\bmsn\.com|\bs3[01]\d\d\b|\(s\d{3,4}\)|\bas\(\d+\)|\(as\d{3,}\)|\beop-|\b(?:rp|sc|dy|ou)-00\d\b|resolver\.adr\.|resource forest", "microsoft"),
    ProviderRule(r"icloud|\bme\.com|\bmac\.com|apple\.com|\bapple\b|\[hme\d\]|\[cs0\d\]", "apple"),
    ProviderRule(r"comcast|\b(?:bl|rl)\d{6}\b", "comcast"),
    ProviderRule(r"\bcox\b|cox\.net|cox\.com|aup#", "cox"),
    ProviderRule(r"orange\.fr|wanadoo|\bmwinf|\bofr\d{0,3}_\d{3}\b|\borange\b", "orange"),
    ProviderRule(r"laposte|\blpn\d{0,3}[_-]\d{3}\b", "laposte"),
    ProviderRule(r"att\.net|prodigy\.net|sbcglobal|bellsouth|\battrbl\b|abuse-att|\bat&t\b", "att"),
    ProviderRule(r"\bgmx\b|web\.de|mxgmx|mxweb|nemesis esmtp|\bmail\.com \(|1und1|ionos", "gmx/web.de"),
    ProviderRule(r"t-online", "t-online"),
    ProviderRule(r"yandex|ya\.cc", "yandex"),
    ProviderRule(r"mail\.ru", "mail.ru"),
    ProviderRule(r"rambler", "rambler"),
    ProviderRule(r"qq\.com|tencent", "qq"),
    ProviderRule(r"zoho", "zoho"),
    ProviderRule(r"free\.fr|proxad", "free"),
    ProviderRule(r"earthlink", "earthlink"),
    ProviderRule(r"secureserver|godaddy|x\.co/", "godaddy"),
    ProviderRule(r"\bsfr\b|sfr\.fr|neuf\.fr", "sfr"),
    ProviderRule(r"seznam", "seznam"),
    ProviderRule(r"libero\.it", "libero"),
    # Filtering gateways.
    ProviderRule(r"proofpoint|pphosted|ppops\.net", "proofpoint"),
    ProviderRule(r"mimecast", "mimecast"),
    ProviderRule(r"ironport|cisco|talosintelligence|senderbase|iphmx", "cisco"),
    ProviderRule(r"messagelabs|symantec|broadcom", "symantec"),
    ProviderRule(r"zerospam", "zerospam"),
    ProviderRule(r"hornetsecurity", "hornetsecurity"),
    ProviderRule(r"magicspam", "magicspam"),
    ProviderRule(r"barracuda", "barracuda"),
    ProviderRule(r"trend ?micro|mail-abuse\.com", "trendmicro"),
    # Blocklist operators, when nothing names the receiver itself.
    ProviderRule(r"cloudmark", "cloudmark"),
    ProviderRule(r"spamhaus", "spamhaus"),
    ProviderRule(r"spamcop", "spamcop"),
    ProviderRule(r"\bsorbs\b", "sorbs"),
    ProviderRule(r"uceprotect", "uceprotect"),
)
# fmt: on

# fmt: off
PROVIDER_BY_CODE: tuple[ProviderRule, ...] = (
    # When no text cue names the receiver: enhanced codes only one provider uses.
    ProviderRule(r"[45]\.7\.(?:2[4789]|3[0-2])", "gmail"),
    ProviderRule(r"[45]\.7\.[5-7]\d\d|[45]\.2\.12[12]|5\.4\.3\d\d|5\.7\.1[23]\d", "microsoft"),
)
# fmt: on

# fmt: off
PROVIDER_CODE_PATTERNS: tuple[str, ...] = (
    # Searched in the normalised (lower-case) reply; the first pattern that matches wins and its
    # first group is reported in upper case (GMX's ``c=…`` stays as it is).
    r"\((s\d{3,5})\)|\b(s3[01]\d\d)\b",  # Outlook S3140, S3150, S3115, S775, S8002
    r"\[((?:tss?|ph|bl|gl|ipts|cs|hme|hm|rtr|rly|con|dyn)\d{1,3})\]",  # Yahoo, Apple
    r"\b((?:bl|rl|ip|dy|rd|sc|lv)\d{6})\b",  # Comcast
    r"\b((?:ofr|lpn|ouk)\d{0,3}[_-]\d{3})\b",  # Orange / La Poste
    r"\b(aup#[a-z0-9]+)",  # Cox
    r"\b((?:rp|sc|dy|ou|sr)-\d{3})\b",  # legacy Hotmail
    r"\b(as\(\d+\))|\((as\d{3,})\)",  # Exchange Online anti-spam rule
    r"\b(ib\d{3})\b",  # GoDaddy
    r"\b(etp\d{3})\b",  # FireEye / Trellix
    r"error-messages\?\S*\b(c=[a-z]+)\b",  # GMX / Web.de explanation code
)
# fmt: on


class BlocklistRule(NamedTuple):
    """A blocklist named in words: the regex (lower case) and the name to report."""

    pattern: str
    name: str


DNSBL_DOMAINS: tuple[str, ...] = (
    # Zones under these domains are reported as the zone itself (``zen.spamhaus.org``).
    "spamhaus.org",
    "spamcop.net",
    "barracudacentral.org",
    "sorbs.net",
    "uceprotect.net",
    "abuseat.org",
    "manitu.net",
    "mailspike.net",
    "surriel.com",
    "mail-abuse.com",
    "mail-abuse.org",
    "rfc-ignorant.org",
    "spam.fail",
    "anonmails.de",
    "spamrats.com",
    "backscatterer.org",
    "s5h.net",
    "0spam.org",
    "junkemailfilter.com",
    "gbudb.net",
    "nordspam.com",
    "dronebl.org",
    "blocklist.de",
    "interserver.net",
    "abusix.zone",
    "senderscore.com",
    "spameatingmonkey.net",
    "unsubscore.com",
    "surbl.org",
    "uribl.com",
    "invaluement.com",
    "spfbl.net",
    "dnswl.org",
)

# fmt: off
BLOCKLIST_NAMES: tuple[BlocklistRule, ...] = (
    BlocklistRule(r"spamhaus", "Spamhaus"),
    BlocklistRule(r"spamcop", "SpamCop"),
    BlocklistRule(r"barracudacentral|\bbrbl\b|barracuda ?(?:networks)?\S* ?(?:reputation|block ?list|rbl)", "Barracuda"),
    BlocklistRule(r"\bsorbs\b", "SORBS"),
    BlocklistRule(r"uceprotect", "UCEPROTECT"),
    BlocklistRule(r"cloudmark", "Cloudmark CSI"),
    BlocklistRule(r"proofpoint", "Proofpoint"),
    BlocklistRule(r"trend ?micro|mail-abuse\.(?:com|org)", "Trend Micro"),
    BlocklistRule(r"abuseat|\bcbl\b", "CBL"),
    BlocklistRule(r"mailspike", "Mailspike"),
    BlocklistRule(r"\bpsbl\b|surriel", "PSBL"),
    BlocklistRule(r"manitu|nix ?spam", "NiX Spam"),
    BlocklistRule(r"invaluement|\bivm(?:sip|uri)\b", "Invaluement"),
    BlocklistRule(r"spamrats|\brats-", "SpamRATS"),
    BlocklistRule(r"backscatterer", "Backscatterer"),
    BlocklistRule(r"\battrbl\b", "ATTRBL"),
    BlocklistRule(r"\bsurbl\b", "SURBL"),
    BlocklistRule(r"\buribl\b", "URIBL"),
    BlocklistRule(r"senderscore", "SenderScore"),
    BlocklistRule(r"spamsource", "Yandex spamsource"),
    BlocklistRule(r"mimecast(?:'s)? (?:block|black|deny) ?list|mimecast (?:ip )?reputation|\bct ip reputation", "Mimecast"),
)
# fmt: on
