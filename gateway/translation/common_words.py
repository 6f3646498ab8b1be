"""Ordinary English words that may start with a capital letter without being a proper name.

A capitalised word outside this list is treated as a name (person, company, street, place)
that must reach the target unchanged; a word in it is translated and never frozen.
Country names and nationalities are here on purpose: their exonyms are correct translations.
"""

from __future__ import annotations

_WORDS = """
a about above according accordingly acting additionally after afterwards again against all also
although among an and another any anyone anything are as at because before being below between
both but by can concerning could despite did do does during each either every following for
from further furthermore had has have he her here hers him his how however i if in including
instead into is it its last later many may meanwhile might more moreover most my neither next
no none nor not now of on once one only or other otherwise our out over please prior pursuant
regarding since so some subsequently such than that the their them then there therefore these
they this those though through thus to today tomorrow under until upon was we were what
whatever when whenever where whereas whether which while who whom whose why will with within
without would yesterday yet you your january february march april june july august september
october november december monday tuesday wednesday thursday friday saturday sunday mr mrs ms mx
dr prof sir madam messrs article articles section sections paragraph paragraphs chapter annex
part title point act acts code codes law laws statute regulation directive decision convention
treaty protocol framework order orders warrant warrants request requests requesting requested
court courts tribunal judge judges justice prosecutor prosecutors prosecution office offices
public ministry minister police department unit service services authority authorities agency
bureau division state states republic kingdom federal federation european union council
commission parliament member national international central criminal civil penal procedure
procedural investigation investigations investigating arrest extradition surrender hearing
examination witness witnesses suspect suspects accused defendant victim victims person persons
people company companies bank banks account accounts evidence offence offences offense crime
crimes fraud forgery money laundering trafficking drug drugs theft murder corruption organised
organized organisation organization group members document documents the_end mutual legal
assistance eio eaw mla form forms box field fields case cases schedule supplementary execution
executing issuing issuer executor reply answer street road avenue square lane boulevard place
north south east west northern southern eastern western first second third fourth fifth sixth
seventh eighth ninth tenth she two three four five six seven eight nine ten belgium belgian
netherlands dutch germany german france french spain spanish italy italian portugal portuguese
poland polish romania romanian bulgaria bulgarian greece greek austria austrian sweden swedish
denmark danish finland finnish ireland irish luxembourg czech czechia slovakia slovak slovenia
slovenian croatia croatian hungary hungarian estonia estonian latvia latvian lithuania
lithuanian malta maltese cyprus cypriot england english britain british scotland scottish wales
welsh europe america american united russia russian turkey turkish morocco moroccan china
chinese switzerland swiss norway norwegian iceland
invoices invoice payments payment proceeds offences offenses documents records bank records
statements statement transfers transfer money funds goods vehicles vehicle premises
subscriber data details information copies copy the_start search seizure hearing hearings
interpreter lawyer lawyers counsel defence defense alias aliases born living
""".split()  # noqa: SIM905 - a word list reads better as text

# Function words of the other source languages, capitalised at the start of a sentence.
_FUNCTION_WORDS = """
el la los las un una unos unas lo al del de en y o que se su sus este esta estos estas ese esa
por para con sin sobre entre como cuando donde según desde hasta durante tras ante no sí ya
le les des du au aux ce cet cette ces et ou il elle ils elles nous vous on qui dans pour par
avec sans sur sous selon depuis pendant après avant lors het een der die das dem den des ein
eine einer einem einen und oder nicht mit von zu zum zur im am bei nach vor seit während
dat deze dit die wij zij hij ze op aan voor na naar uit bij over tot om te il lo gli i una uno
di da dei della delle nel nella con per tra fra o os as um uma dos das do da no na nos nas em
pela pelo é e ou à às ao aos
""".split()  # noqa: SIM905

COMMON_WORDS: frozenset[str] = frozenset(_WORDS) | frozenset(_FUNCTION_WORDS)
