/**
 * The term lists behind LiteLLM's word-list prebuilt patterns (protected classes under US fair
 * lending law, and dangerous content): which terms each name matches comes from LiteLLM's pattern
 * catalogue. A term is a small Python regex: `\s+` between words, `-?` or `[- ]?` where a hyphen is
 * optional, `(?:...)?` for optional endings. prebuilt-patterns.ts joins each list into
 * `\b(?:term|term|...)\b`, matched case-insensitively.
 */

const w = String.raw;

export const PROTECTED_CLASS_TERMS: Readonly<Record<string, readonly string[]>> = {
  gender_sexual_orientation: [
    w`non-?binary`, 'enby', 'genderqueer', 'genderfluid', w`gender-?fluid`, 'agender', 'bigender', 'pangender', w`two-?spirit`,
    w`trans(?:gender|sexual|masc|fem)?`, w`cis(?:gender)?`, 'intersex', 'MTF', 'FTM', 'AMAB', 'AFAB', w`assigned\s+(?:male|female)\s+at\s+birth`,
    'gay', 'lesbian', 'bisexual', 'pansexual', 'omnisexual', 'polysexual', 'asexual', 'aromantic', 'demisexual', 'heterosexual', 'homosexual',
    'queer', w`LGBTQ\+?`, w`LGBT\+?`, w`LGBTQIA\+?`, w`same-?sex`, w`opposite-?sex`, w`sexual\s+orientation`, w`sexual\s+preference`,
    w`gender\s+identity`, w`sex\s+change`, w`gender\s+reassignment`, w`gender\s+confirmation`, w`sexual\s+minority`,
    'he/him', 'she/her', 'they/them', 'xe/xem', 'ze/zir',
  ],
  race_ethnicity_national_origin: [
    'caucasian', w`african[- ]?american`, 'black', 'white', 'asian', 'hispanic', 'latino', 'latina', 'latinx', w`pacific\s+islander`,
    w`native\s+american`, 'indigenous', w`first\s+nations`, 'aboriginal', 'mestizo', 'mulatto', 'biracial', 'multiracial', w`mixed[- ]?race`,
    w`person\s+of\s+colou?r`, 'POC', 'BIPOC', w`ethnic(?:ity)?`, 'racial', 'race', 'arab', w`middle\s+eastern`, w`south\s+asian`, w`east\s+asian`,
    w`southeast\s+asian`, 'european', 'african', 'caribbean', w`west\s+indian`, 'haitian', 'jamaican', 'cuban', w`puerto\s+rican`, 'mexican',
    'dominican', 'salvadoran', 'guatemalan', 'honduran', 'colombian', 'venezuelan', 'peruvian', 'brazilian', 'chinese', 'japanese', 'korean',
    'vietnamese', 'filipino', 'filipina', 'indian', 'pakistani', 'bangladeshi', w`sri\s+lankan`, 'nepali', 'thai', 'indonesian', 'malaysian',
    'burmese', 'cambodian', 'laotian', 'hmong', 'somali', 'ethiopian', 'nigerian', 'ghanaian', 'kenyan', w`south\s+african`, 'egyptian',
    'moroccan', 'algerian', 'iranian', 'iraqi', 'syrian', 'lebanese', 'palestinian', 'israeli', 'turkish', 'afghan', 'uzbek', 'kazakh',
    'russian', 'ukrainian', 'polish', 'german', 'italian', 'irish', 'british', 'french', 'spanish', 'portuguese', 'greek', 'albanian',
    'serbian', 'croatian', 'bosnian', 'romani', 'roma', 'gypsy', 'jewish', 'ashkenazi', 'sephardic', 'mizrahi', w`native\s+hawaiian`,
    'samoan', 'tongan', 'fijian', 'guamanian', 'chamorro', 'inuit', 'aleut', 'metis', 'maori', w`aboriginal\s+australian`, w`torres\s+strait`,
  ],
  religion: [
    'christian', 'catholic', 'protestant', 'baptist', 'methodist', 'lutheran', 'presbyterian', 'episcopal', 'pentecostal', 'evangelical',
    w`orthodox\s+christian`, 'mormon', w`latter[- ]?day\s+saint`, 'LDS', w`jehovah'?s?\s+witness`, w`seventh[- ]?day\s+adventist`, 'amish',
    'mennonite', 'quaker', 'jewish', 'jew', 'judaism', w`orthodox\s+jew`, 'hasidic', 'muslim', w`islam(?:ic)?`, 'sunni', 'shia', 'shiite',
    'sufi', w`nation\s+of\s+islam`, w`hindu(?:ism)?`, 'buddhist', 'buddhism', w`sikh(?:ism)?`, w`jain(?:ism)?`, 'shinto', 'taoist', 'taoism',
    'confucian', 'zoroastrian', w`baha'?i`, w`rastafari(?:an)?`, 'pagan', 'wiccan', 'druid', 'satanist', w`scientolog(?:y|ist)`, 'unitarian',
    'agnostic', 'atheist', 'secular', w`non-?religious`, w`spiritual\s+but\s+not\s+religious`, w`religious\s+belief`, w`religious\s+practice`,
    w`place\s+of\s+worship`, 'church', 'mosque', 'synagogue', 'temple', 'gurdwara', 'kosher', 'halal', 'sabbath', 'shabbat', 'ramadan', 'lent',
    w`yom\s+kippur`, w`rosh\s+hashanah`, 'diwali', 'eid', 'hijab', 'yarmulke', 'kippah', 'turban', w`religious\s+head\s*covering`,
  ],
  age_discrimination: [
    'elderly', w`senior\s+citizen`, w`old\s+age`, w`aged\s+\d+`, 'retiree', 'retired', 'pensioner', w`baby\s+boomer`, 'boomer', 'geriatric',
    w`over\s+the\s+hill`, w`too\s+old`, w`too\s+young`, w`young\s+person`, 'millennial', w`gen[- ]?z`, 'junior', w`age\s+discrimination`, 'ageism',
    w`years?\s+old`, w`date\s+of\s+birth`, 'DOB', w`birth\s*date`, w`born\s+in\s+\d{4}`, w`age\s+\d{2,3}`,
  ],
  disability: [
    'disabled', 'disability', w`handicap(?:ped)?`, w`impair(?:ed|ment)`, 'wheelchair', w`blind(?:ness)?`, w`deaf(?:ness)?`, w`hard\s+of\s+hearing`,
    w`hearing\s+impaired`, w`visually\s+impaired`, 'mute', w`paralyz(?:ed|is)`, 'quadriplegic', 'paraplegic', 'amputee', 'prosthetic',
    w`crippled?`, w`mentally\s+ill`, w`mental\s+illness`, w`mental\s+disorder`, 'psychiatric', w`schizophren(?:ia|ic)`, 'bipolar', 'depression',
    'depressed', w`anxiety\s+disorder`, 'PTSD', w`autis(?:m|tic)`, w`asperger'?s?`, 'ADHD', 'ADD', 'dyslexia', 'dyslexic',
    w`learning\s+disabilit(?:y|ies)`, w`intellectual\s+disabilit(?:y|ies)`, w`down'?s?\s+syndrome`, w`cerebral\s+palsy`, w`epilep(?:sy|tic)`,
    w`seizure\s+disorder`, w`multiple\s+sclerosis`, w`MS\s+patient`, w`parkinson'?s?`, w`alzheimer'?s?`, 'dementia', w`chronic\s+illness`,
    w`chronic\s+pain`, 'fibromyalgia', 'lupus', w`crohn'?s?`, w`cancer\s+patient`, 'HIV', 'AIDS', 'diabetic', 'diabetes', 'SSI', 'SSDI',
    w`disability\s+benefits`, w`disability\s+income`, 'ADA', w`reasonable\s+accommodation`, w`special\s+needs`, w`service\s+animal`,
    w`service\s+dog`, w`guide\s+dog`,
  ],
  marital_family_status: [
    'married', 'unmarried', 'single', 'divorced', 'separated', 'widowed', 'widow', 'widower', 'spouse', 'husband', 'wife', w`domestic\s+partner`,
    w`civil\s+union`, w`common[- ]?law`, w`marital\s+status`, w`maiden\s+name`, 'alimony', w`child\s+support`, 'custody', 'pregnant', 'pregnancy',
    'maternity', 'paternity', 'expecting', w`family\s+status`, w`number\s+of\s+children`, 'dependents', 'childless', w`child[- ]?free`,
    w`single\s+parent`, w`single\s+mother`, w`single\s+father`, 'unwed', w`out\s+of\s+wedlock`, 'illegitimate', w`family\s+planning`,
    w`birth\s+control`, 'fertility', 'IVF', 'adoption', 'adopted', w`foster\s+parent`, 'guardian',
  ],
  military_status: [
    'veteran', 'military', w`armed\s+forces`, 'army', 'navy', w`air\s+force`, w`marine(?:s|\s+corps)?`, w`coast\s+guard`, w`national\s+guard`,
    w`reserve(?:s|ist)?`, w`active\s+duty`, 'deployment', 'deployed', 'enlisted', 'commissioned', w`honorable\s+discharge`,
    w`dishonorable\s+discharge`, w`VA\s+benefits`, w`GI\s+bill`, w`military\s+service`, w`service\s+member`, 'servicemember', 'SCRA', 'MLA',
    w`military\s+lending`,
  ],
  public_assistance: [
    'welfare', w`public\s+assistance`, w`food\s+stamps`, 'SNAP', 'WIC', 'TANF', 'medicaid', w`section\s+8`, w`housing\s+voucher`,
    w`subsidized\s+housing`, w`public\s+housing`, w`government\s+benefits`, w`social\s+services`, w`unemployment\s+(?:benefits|insurance)`,
    w`UI\s+benefits`, 'EBT', w`benefit\s+recipient`,
  ],
};

export const DANGEROUS_CONTENT_TERMS: Readonly<Record<string, readonly string[]>> = {
  weapons_firearms: [
    'gun', 'firearm', 'rifle', 'shotgun', 'pistol', 'handgun', 'revolver', w`semi[- ]?automatic`, w`automatic\s+weapon`, w`assault\s+rifle`,
    w`AR-?15`, w`AK-?47`, w`machine\s+gun`, w`submachine\s+gun`, 'SMG', 'ammunition', 'ammo', w`bullets?`, 'cartridge', 'caliber', '9mm',
    w`\.45`, w`\.38`, w`\.357`, w`\.22`, w`12\s+gauge`, w`hollow\s+point`, w`armor\s+piercing`, 'magazine', 'clip', 'suppressor', 'silencer',
    w`bump\s+stock`, 'trigger', 'barrel', w`concealed\s+carry`, w`open\s+carry`, 'CCW', w`ghost\s+gun`, w`3D\s+printed\s+gun`,
    w`untraceable\s+firearm`, w`straw\s+purchase`, w`gun\s+show`, 'FFL', w`firearms\s+dealer`,
  ],
  weapons_other: [
    'knife', 'blade', 'machete', 'switchblade', w`butterfly\s+knife`, 'balisong', w`brass\s+knuckles`, w`knuckle\s+duster`, 'baton', 'blackjack',
    'taser', w`stun\s+gun`, w`pepper\s+spray`, 'mace', 'crossbow', w`bow\s+and\s+arrow`, w`compound\s+bow`, 'sword', 'katana', w`throwing\s+star`,
    'shuriken', 'nunchaku', 'nunchucks', 'tomahawk', 'hatchet', w`axe\s+attack`, w`ice\s+pick`, 'garrote', w`zip\s+gun`, w`improvised\s+weapon`,
    'shiv', 'shank', w`pipe\s+bomb`,
  ],
  explosives: [
    'bomb', 'explosive', 'detonate', 'detonator', 'detonation', 'IED', w`improvised\s+explosive`, w`pipe\s+bomb`, w`mail\s+bomb`, w`car\s+bomb`,
    w`truck\s+bomb`, w`suicide\s+bomb`, w`vest\s+bomb`, w`dirty\s+bomb`, w`fertilizer\s+bomb`, 'ANFO', w`ammonium\s+nitrate`, w`C-?4`,
    w`plastic\s+explosive`, 'dynamite', 'TNT', 'nitroglycerin', w`black\s+powder`, 'gunpowder', w`blasting\s+cap`, 'fuse', w`timer\s+device`,
    w`remote\s+detonation`, w`pressure\s+cooker\s+bomb`, w`nail\s+bomb`, 'shrapnel', 'fragmentation', 'incendiary', 'molotov', 'firebomb',
    'thermite', 'napalm', 'grenade', w`hand\s+grenade`, w`frag\s+grenade`, w`flash\s+bang`, w`smoke\s+bomb`, 'landmine', 'claymore', 'semtex',
    'RDX', 'PETN', w`how\s+to\s+(?:make|build|construct)\s+(?:a\s+)?bomb`,
  ],
  violence_threats: [
    'kill', 'murder', 'assassinate', 'execute', 'slaughter', 'massacre', 'bloodbath', 'genocide', w`ethnic\s+cleansing`, w`mass\s+shooting`,
    w`shooting\s+spree`, 'rampage', w`gun\s+down`, w`mow\s+down`, w`hunt\s+(?:down|them)`, w`take\s+(?:them|him|her)\s+out`, 'eliminate',
    'neutralize', 'liquidate', w`hit\s+(?:list|man)`, w`contract\s+kill`, w`hired\s+gun`, w`death\s+threat`, w`threat(?:en)?\s+to\s+kill`,
    w`gonna\s+kill`, w`going\s+to\s+kill`, w`want\s+(?:to|him|her|them)\s+dead`, w`deserve\s+to\s+die`, w`needs?\s+to\s+die`, w`shoot\s+up`,
    w`bomb\s+threat`, 'terrorize', w`reign\s+of\s+terror`, w`burning\s+down`, w`burn\s+it\s+down`, w`blow\s+(?:it|them|this)\s+up`, 'torture',
    'mutilate', 'dismember', 'decapitate', 'behead', 'strangle', 'suffocate', 'drown', 'poison', 'stab', 'slash', w`cut\s+(?:throat|them)`,
    w`slit\s+(?:throat|wrists)`, w`beat\s+to\s+death`, 'bludgeon', 'maim', 'cripple', 'kneecap',
  ],
  terrorism: [
    w`terroris[tm]`, w`jiha[di]`, 'mujahideen', w`martyr(?:dom)?\s+operation`, w`holy\s+war`, 'caliphate', 'ISIS', 'ISIL', w`Islamic\s+State`,
    w`Al[- ]?Qaeda`, w`Al[- ]?Shabaab`, w`Boko\s+Haram`, 'Hezbollah', 'Hamas', 'Taliban', w`lone\s+wolf`, w`radicalized?`, 'radicalization',
    w`extremis[tm]`, w`white\s+supremac(?:y|ist)`, w`neo[- ]?nazi`, 'skinhead', 'aryan', w`white\s+power`, w`white\s+nationalist`, w`race\s+war`,
    w`day\s+of\s+the\s+rope`, w`Turner\s+Diaries`, 'accelerationism', 'boogaloo', w`proud\s+boys`, w`oath\s+keepers`, w`three\s+percenter`,
    w`militia\s+movement`, w`domestic\s+terroris[tm]`, 'cell', w`sleeper\s+cell`, w`attack\s+planning`, w`soft\s+target`, w`hard\s+target`,
    w`high\s+value\s+target`, 'infidel', 'kuffar', 'crusader', w`manifesto?`, 'insurgent', 'insurrection', w`armed\s+uprising`,
    w`overthrow\s+the\s+government`, w`civil\s+war\s+2`, 'RAHOWA', w`fourteen\s+words`, '1488', '88', 'HH',
  ],
  self_harm_suicide: [
    w`suicid(?:e|al)`, w`kill\s+myself`, w`end\s+(?:my|it\s+all)`, w`take\s+my\s+(?:own\s+)?life`, w`don'?t\s+want\s+to\s+live`, w`want\s+to\s+die`,
    w`better\s+off\s+dead`, w`no\s+reason\s+to\s+live`, w`nothing\s+to\s+live\s+for`, w`end\s+the\s+pain`, w`self[- ]?harm`, w`cut(?:ting)?\s+myself`,
    w`slit\s+(?:my\s+)?wrists`, 'overdose', 'OD', w`hang\s+myself`, w`jump\s+off`, w`jump\s+from`, w`bridge\s+jump`, w`train\s+tracks`,
    w`pills\s+to\s+die`, w`lethal\s+dose`, 'LD50', w`how\s+to\s+kill\s+(?:myself|yourself)`, w`suicide\s+method`, w`painless\s+death`,
    w`exit\s+bag`, w`helium\s+hood`, w`suicide\s+note`, w`goodbye\s+letter`, w`final\s+letter`, w`last\s+words`, w`pro[- ]?ana`, w`pro[- ]?mia`,
    'thinspiration', w`self[- ]?starv(?:e|ation)`, 'purging',
  ],
  illegal_activities: [
    w`money\s+launder(?:ing)?`, w`launder\s+money`, 'structuring', 'smurfing', w`wash\s+(?:the\s+)?money`, w`clean\s+money`, w`dirty\s+money`,
    w`drug\s+traffick(?:ing)?`, 'narco', 'cartel', w`drug\s+deal(?:er|ing)?`, w`drug\s+lord`, 'kingpin', 'cocaine', 'heroin', 'fentanyl',
    w`meth(?:amphetamine)?`, 'crack', 'opioid', w`human\s+traffick(?:ing)?`, w`sex\s+traffick(?:ing)?`, w`smuggl(?:e|ing)`, 'contraband',
    w`black\s+market`, w`dark\s+web`, 'darknet', 'hitman', w`contract\s+killer`, w`murder\s+for\s+hire`, 'arson', w`extort(?:ion)?`, 'blackmail',
    'ransom', w`kidnap(?:ping)?`, w`abduct(?:ion)?`, 'hostage', w`fraud\s+scheme`, 'ponzi', w`pyramid\s+scheme`, w`identity\s+theft`,
    w`credit\s+card\s+fraud`, w`wire\s+fraud`, w`bank\s+fraud`, w`embezzle(?:ment)?`, w`brib(?:e|ery)`, 'kickback', 'racketeering', 'RICO',
    w`organized\s+crime`, 'mob', 'mafia', 'syndicate', w`gang\s+activity`, w`criminal\s+enterprise`,
  ],
  harassment_hate: [
    w`n[i1]gg[e3]r`, w`f[a4]gg[o0]t`, w`k[i1]ke`, w`sp[i1]c`, w`ch[i1]nk`, w`g[o0]{2}k`, w`w[e3]tb[a4]ck`, w`r[e3]t[a4]rd`, w`tr[a4]nny`, 'shemale',
    'dyke', 'cunt', w`kill\s+all`, w`gas\s+the`, 'lynch', w`hang\s+the`, 'exterminate', 'subhuman', 'untermensch', 'mongrel', w`mud\s+people`,
    w`race\s+traitor`, w`coal\s+burner`, w`oil\s+driller`, 'oven', 'lampshade', w`helicopter\s+ride`, w`throw\s+from`, 'rooftop',
    w`wood\s+chipper`, w`dox(?:x)?(?:ing)?`, w`swat(?:ting)?`, w`harass(?:ment)?`, w`stalk(?:ing|er)?`, w`cyber\s*bully`, w`death\s+threat`,
    w`rape\s+threat`, w`bomb\s+threat`, w`shoot\s+up`, w`gonna\s+find\s+you`, w`know\s+where\s+you\s+live`, w`coming\s+for\s+you`,
  ],
};
