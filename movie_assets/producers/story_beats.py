"""The offline storyteller's words: one arc per kind of film, details that lengthen a line, and the places
a story may be set in when its prompt names none.

Placeholders: {hero} (the protagonist introduced), {name}, {friend}, {object}, {place}, {topic} (what an
explainer or a pitch is about) and {second} (the next thing the prompt names, else the place).
"""

from __future__ import annotations

WORDS_PER_SECOND = 2.5  # an unhurried narrator

PLACES = [
    "a harbour town at the edge of the fog",
    "a quiet mountain village",
    "a city of bridges and late trains",
    "a harbour on an island where the lighthouse still turns",
    "a desert station under wide skies",
    "a forest road that no map agrees on",
]

# Each kind of film has a core arc of six beats, spread over up to six segments, and ten more beats that
# a longer film tells between the core's third and fourth, in order.
ARCS = {
    "story": (
        [
            "In {place}, {hero} keeps to a quiet routine, the same small tasks from dawn to dusk.",
            "Then {object} turns up where it should not be, and {friend} comes asking questions only {name} can"
            " answer.",
            "{name} and {friend} set out together, {object} leading them further than either of them planned.",
            "Halfway there, {name} learns the truth: nothing about {object} is what it first seemed.",
            "At the decisive moment, {name} must choose, {object} in hand and no time left.",
            "When the dust settles, {place} looks different, and so does {name}.",
        ],
        [
            "The first test comes quickly, and {name} learns that courage is mostly patience.",
            "At a shelter for the night, {friend} tells a story that changes how {name} sees the journey.",
            "{name} notices the small signs others missed: marks on the path, a pattern in the weather.",
            "A wrong turn costs them a day, and {name} has to admit to being lost.",
            "Help comes from an unexpected quarter, and {name} accepts it, a little too proudly.",
            "A storm of doubt splits them apart, and {name} goes on alone for a while.",
            "In the quietest hour, {name} remembers why this mattered in the first place.",
            "{name} turns back, finds {friend} again, and this time they make a plan.",
            "For a moment everything seems won, and {name} lets down their guard.",
            "Then the last obstacle rises, bigger than {name} had imagined.",
        ],
    ),
    "explainer": (
        [
            "This is the story of {topic}, and of why it still matters today.",
            "To understand it, we start with the world as it was before anyone paid attention.",
            "The first clues were small: details most people walked past without a second look.",
            "Here is the key idea, in plain words: small differences, repeated over time, add up.",
            "Later work tested that idea again and again, with tools the pioneers never had.",
            "That is the lasting lesson of {topic}: curiosity, patience and an open mind.",
        ],
        [
            "Then someone looked closer, asked a simple question, and refused to let it go.",
            "The place itself, {second}, turned out to hold the most important evidence.",
            "Observation came first: patient notes, drawings and measurements, gathered over years.",
            "Patterns began to appear, and each one raised a harder question than the last.",
            "Not everyone agreed; the new ideas met doubt, debate and careful criticism.",
            "Some early guesses were wrong, and correcting them made the picture clearer.",
            "Today the same principle helps us read the world around us, from fields to cities.",
            "It also reminds us how much is still unknown, and how much is left to find.",
            "So the next time you look at {second}, look twice; the evidence is still there.",
            "And the questions it raised are still being asked, by people just like you.",
        ],
    ),
    "pitch": (
        [
            "Every day starts with the same small frustration, and most of us have stopped noticing it.",
            "Meet {topic}, made for exactly that moment.",
            "Here is how it works: one simple step, and the rest takes care of itself.",
            "People who tried it first noticed the difference within a week.",
            "The result is more time for what you actually care about.",
            "Try {topic} for yourself, and see what changes.",
        ],
        [
            "It fits into the day you already have, with nothing new to learn.",
            "It is built to last, and designed to be repaired rather than replaced.",
            "At home, at work or on the road, it keeps up with you.",
            "Small details matter, so every one of them was tested with real people.",
            "It is quiet when you want quiet, and quick when you are in a hurry.",
            "Setting it up takes less time than reading this sentence.",
            "It works with the things you already own.",
            "The people who made it use it every day themselves.",
            "It is ready today, and it gets better with every update.",
            "{topic}: less friction, more day.",
        ],
    ),
}

DETAILS = {
    "story": [
        "The air over {place} smells of rain.",
        "Somewhere a bell rings, far away.",
        "The light turns gold, then grey.",
        "A gull cries over the rooftops.",
        "{name} keeps {object} close.",
        "Footsteps echo and fade.",
        "The wind changes direction.",
        "Night comes early, with a cold edge.",
        "The first stars appear one by one.",
        "Morning arrives pale and quiet.",
        "A door creaks somewhere behind them.",
        "{friend} hums an old tune.",
        "The road bends and climbs.",
        "Shadows grow long across the ground.",
        "Rain taps on the windows.",
        "The fire burns low and warm.",
        "Nobody speaks for a while.",
        "A lamp flickers in a far window.",
        "The sea, or something like it, murmurs.",
        "Frost silvers the edges of everything.",
        "Leaves skitter across the path.",
        "A clock somewhere strikes the hour.",
        "The horizon glows faintly.",
    ],
    "explainer": [
        "Keep that in mind.",
        "The details matter here.",
        "It took years to see it clearly.",
        "Scientists still argue about parts of it.",
        "The records from that time are remarkable.",
        "Think of it as a slow, patient experiment.",
        "It is easy to overlook, and easy to misread.",
        "Each step built on the one before.",
        "The numbers tell a striking story.",
        "Maps and notebooks from the period survive.",
        "This is where the evidence gets interesting.",
        "Nature rarely makes it simple.",
        "The same pattern turns up elsewhere.",
        "Small changes, repeated, become large ones.",
        "Questions outnumbered answers for a long time.",
        "Look closely and you can still see it.",
        "That idea would later be tested in the field.",
        "It changed how people asked questions.",
        "History remembers only part of it.",
        "Many hands contributed along the way.",
        "Measurements replaced guesswork.",
        "The argument was settled by evidence, not by volume.",
        "The implications reached far beyond one place.",
    ],
    "pitch": [
        "No setup, no fuss.",
        "It just works.",
        "Quiet, quick and reliable.",
        "Designed with care.",
        "Made to be shared.",
        "It takes seconds.",
        "You will wonder how you managed before.",
        "Everything where you expect it.",
        "Simple by design.",
        "It travels well.",
        "Built for real life.",
        "Thoughtful in every detail.",
        "Fewer steps, better results.",
        "Ready when you are.",
        "Useful from the first day.",
        "Honest about what it does.",
        "Easy on the eyes.",
        "Comfortable in any hand.",
        "Kind to the planet.",
        "Worth the switch.",
        "Clear, calm and fast.",
        "Small in size, big in effect.",
        "Made by people who use it.",
    ],
}

# The same arcs, beat for beat, in a few words each: for a film whose Duration leaves a segment only a
# few seconds of speech.
SHORT_ARCS = {
    "story": (
        [
            "{name} keeps a quiet routine.",
            "Then {object} appears, and {friend} with it.",
            "{name} and {friend} set out.",
            "Nothing is what it seemed.",
            "{name} must choose, now.",
            "{name} comes home changed.",
        ],
        [
            "The first test comes fast.",
            "{friend} tells a story by the fire.",
            "{name} reads the small signs.",
            "A wrong turn costs a day.",
            "Help comes from a stranger.",
            "Doubt splits them apart.",
            "{name} remembers why it matters.",
            "{name} finds {friend} again.",
            "For a moment, all seems won.",
            "The last obstacle rises.",
        ],
    ),
    "explainer": (
        [
            "This is {topic}.",
            "First, the world before.",
            "The first clues were small.",
            "Small changes add up.",
            "Later work tested it.",
            "Curiosity is the lesson.",
        ],
        [
            "Someone looked closer.",
            "{second} held the evidence.",
            "Observation came first.",
            "Patterns began to appear.",
            "Not everyone agreed.",
            "Early guesses were wrong.",
            "It still guides us today.",
            "Much is still unknown.",
            "Look twice next time.",
            "The questions go on.",
        ],
    ),
    "pitch": (
        [
            "Every day, one small frustration.",
            "Meet {topic}.",
            "One simple step.",
            "People noticed within a week.",
            "More time for what matters.",
            "Try {topic} today.",
        ],
        [
            "Nothing new to learn.",
            "Built to last.",
            "Home, work or road.",
            "Tested with real people.",
            "Quiet, and quick.",
            "Set up in seconds.",
            "Works with what you own.",
            "Made by people who use it.",
            "Better with every update.",
            "Less friction, more day.",
        ],
    ),
}
SHORT_WORDS = 8  # a line this short or shorter in the full arc's words: the short arc is told
