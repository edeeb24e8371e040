"""Name lists embedded in the package, for realistic record linkage.

Common first names in England and Wales (ONS baby-name lists for the birth years of today's adults),
common British surnames, and names common among EU and non-EU nationals in Oxfordshire's
homelessness population (Polish, Romanian, Lithuanian, Portuguese, Eritrean, Sudanese, Somali,
Afghan, Pakistani, Indian, ...). Nicknames and spelling variants map each formal name to the names a
person may give instead.
"""

from __future__ import annotations

UK_MALE = """
James John Robert Michael David William Richard Thomas Mark Paul Andrew Steven Christopher Daniel
Matthew Anthony Peter Stephen Kevin Gary Ian Simon Jason Lee Craig Darren Wayne Dean Carl Scott
Martin Neil Stuart Adam Ryan Jamie Liam Luke Ben Benjamin Samuel Joseph Jack Joshua Callum Connor
Kieran Nathan Aaron Jordan Bradley Jake Lewis Harry George Charlie Alfie Oliver Jacob Ethan Tyler
Reece Shane Alan Brian Colin Graham Keith Kenneth Trevor Barry Terence Raymond Dennis Roy Derek
Philip Nigel Roger Malcolm Gordon Douglas Frank Patrick Sean Kyle Marcus Nicholas Jonathan Timothy
Edward Henry Alexander Dominic Tony Danny Jimmy Billy Jonathan Gavin Russell Glenn Clive Leon Ross
Owen Rhys Gareth Dale Jay Joel Toby Max Elliot Louis Leo Mason Kai Tom Robbie Ricky Stewart Duncan
Hugh Vincent Victor Stanley Arthur Albert Ernest Leonard Sidney Harold Norman Frederick Douglas Cameron
Ashley Jamal Tyrone Mohammed Ali Ahmed Hassan Omar Imran Adil Tariq Rajesh Sanjay Arjun Kwame Kofi
Emmanuel Delroy Winston Nathaniel Declan Conor Brendan Fergus Ewan Angus Malik Zach Theo Archie Finley
"""

UK_FEMALE = """
Mary Patricia Linda Elizabeth Susan Margaret Sarah Karen Nancy Lisa Helen Sandra Donna Carol Ruth
Sharon Michelle Laura Emily Kimberly Deborah Jessica Amy Angela Melissa Rebecca Stephanie Catherine
Katherine Christine Samantha Nicola Emma Claire Louise Joanne Rachel Kelly Gemma Hayley Charlotte
Hannah Lauren Chloe Sophie Jade Danielle Stacey Leanne Natalie Victoria Zoe Amanda Julie Tracey
Tracy Jane Anne Ann Alison Caroline Jennifer Joanna Lucy Megan Bethany Abigail Ellie Holly Olivia
Amelia Isla Ava Mia Grace Lily Freya Poppy Ruby Evie Jasmine Alice Phoebe Paige Shannon Courtney
Kirsty Kayleigh Jodie Carly Lindsey Rosie Frances Janet Pauline Brenda Sheila Maureen Jean Barbara
Dorothy Joan Valerie Gillian Wendy Yvonne Denise Debbie Lorraine Jacqueline Kathleen Teresa Bridget
Siobhan Aoife Niamh Fiona Kirsten Morag Eileen Marie Diane Dawn Paula Sally Heather Kerry Natasha
Tanya Toni Vicky Georgia Eleanor Harriet Imogen Millie Maisie Ella Sienna Scarlett Leah Kayla Aisha
Fatima Ayesha Zainab Nadia Samira Priya Sunita Anita Asha Shabana Yasmin Precious Grace Patience
Marcia Beverley Janice Hazel Rita Sylvia Irene Edith Doris Gladys Elsie Annie Rosemary Lesley
"""

UK_SURNAMES = """
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright
Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper
Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis
Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw
Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster
Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills
Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson
Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford
Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts
Rose Booth Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster
Hunter Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins Harding
Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane Cooke Bates Henderson
Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross Long Freeman Warren Nicholls Hamilton
Byrne Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor Harper Coleman Watkins Moss McCarthy
Chambers O'Neill Griffin Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle Wallace George
Jordan Hutchinson Rahman Miah Iqbal Mahmood Akhtar Chaudhry Sharma Kumar Mensah Okafor Adeyemi Boateng
Campbell-Smith Fitzgerald McKenzie Quinn Doherty Gallagher Brennan
"""

EU_MALE = """
Piotr Krzysztof Tomasz Pawel Marcin Michal Lukasz Grzegorz Mariusz Adam Andrzej Jakub Dariusz
Ion Gheorghe Vasile Constantin Mihai Andrei Florin Marius Adrian Alexandru Bogdan Cristian
Tomas Mindaugas Darius Jonas Andrius Rolandas Janis Andris Joao Pedro Rui Nuno Miguel Jose Carlos
Luis Paulo Marco Giuseppe Antonio Francesco Luca Stefan Nikolay Georgi Dimitar Ivan Ferenc Laszlo
"""

EU_FEMALE = """
Anna Katarzyna Agnieszka Malgorzata Joanna Magdalena Monika Ewa Barbara Aleksandra Marta Natalia
Maria Elena Ioana Andreea Mihaela Alina Cristina Gabriela Daniela Simona Laura Ruta Egle Inga
Jurgita Kristina Ilze Liga Ana Sofia Mariana Ines Catarina Rita Giulia Francesca Chiara Petya
Desislava Ivana Zsofia Eszter
"""

EU_SURNAMES = """
Nowak Kowalski Wisniewski Wojcik Kowalczyk Kaminski Lewandowski Zielinski Szymanski Wozniak
Dabrowski Kozlowski Jankowski Mazur Kwiatkowski Krawczyk Popescu Ionescu Popa Pop Radu Dumitru
Stan Stoica Gheorghe Matei Ciobanu Rusu Munteanu Kazlauskas Jankauskas Petrauskas Stankevicius
Vasiliauskas Berzins Kalnins Ozols Silva Santos Ferreira Pereira Oliveira Costa Rodrigues Martins
Rossi Russo Ferrari Esposito Bianchi Ivanov Petrov Georgiev Dimitrov Nagy Horvath Toth Szabo
"""

NON_EU_MALE = """
Mohammed Muhammad Ahmed Abdi Abdullahi Hassan Hussein Yusuf Ibrahim Mustafa Omar Ali Khalid
Tesfaye Yonas Dawit Habtom Kidane Samuel Bereket Filmon Amanuel Osman Adam Abdelrahman Mohamed
Ahmad Mahmoud Hamid Karim Farid Rahim Javed Imran Asif Bilal Arif Rohan Vikram Suresh Ravi Anil
Chinedu Emeka Oluwaseun Tunde Kwabena Yaw Reza Amir Hamza Saeed Nasir Wahid Zabi Ghulam
"""

NON_EU_FEMALE = """
Fatima Amina Halima Khadija Maryam Hawa Fadumo Hodan Asha Sahra Hiwet Senait Selam Yordanos Helen
Tigist Mebrat Aisha Zainab Nour Layla Rania Samira Shazia Nasreen Parveen Rukhsana Farah Sadia
Priya Anjali Deepa Lakshmi Sunita Chioma Ngozi Adaeze Funmilayo Abena Akosua Shirin Parisa
"""

NON_EU_SURNAMES = """
Mohamed Ahmed Hassan Ali Abdi Osman Hussein Ibrahim Yusuf Farah Warsame Jama Tesfaye Gebremedhin
Haile Tekle Berhane Kidane Woldemariam Mahmoud Abdullah Khalil Haddad Nasser Saleh Hamdan Karimi
Ahmadi Hosseini Rahimi Sultani Popal Stanekzai Khan Hussain Butt Malik Qureshi Siddiqui Chaudhry
Patel Shah Reddy Nair Iyer Okonkwo Eze Adebayo Okeke Asante Owusu Mensah Appiah Rezaei Jafari
"""

# Formal name -> names a person may give or be recorded under (nicknames and spelling variants).
NAME_VARIANTS: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy", "Liam"),
    "Robert": ("Rob", "Bob", "Bobby", "Robbie"),
    "Richard": ("Rich", "Rick", "Dick", "Richie"),
    "Michael": ("Mike", "Mick", "Mickey"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "John": ("Jon", "Johnny", "Jack"),
    "David": ("Dave", "Davey"),
    "Thomas": ("Tom", "Tommy"),
    "Christopher": ("Chris", "Kit"),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt", "Matty"),
    "Anthony": ("Tony", "Ant"),
    "Andrew": ("Andy", "Drew"),
    "Stephen": ("Steve", "Stevie", "Steven"),
    "Steven": ("Steve", "Stevie", "Stephen"),
    "Peter": ("Pete",),
    "Joseph": ("Joe", "Joey"),
    "Samuel": ("Sam", "Sammy"),
    "Benjamin": ("Ben", "Benny"),
    "Nicholas": ("Nick", "Nicky"),
    "Jonathan": ("Jon", "Jonny"),
    "Timothy": ("Tim", "Timmy"),
    "Edward": ("Ed", "Eddie", "Ted"),
    "Alexander": ("Alex", "Sandy"),
    "Kenneth": ("Ken", "Kenny"),
    "Terence": ("Terry",),
    "Raymond": ("Ray",),
    "Frederick": ("Fred", "Freddie"),
    "Leonard": ("Len", "Lenny"),
    "Harold": ("Harry",),
    "Philip": ("Phil",),
    "Patrick": ("Pat", "Paddy"),
    "Gareth": ("Gaz",),
    "Gary": ("Gaz",),
    "Darren": ("Daz",),
    "Lewis": ("Louis",),
    "Mohammed": ("Muhammad", "Mohamed", "Mohammad", "Mo"),
    "Muhammad": ("Mohammed", "Mohamed", "Mo"),
    "Mohamed": ("Mohammed", "Muhammad", "Mo"),
    "Ahmed": ("Ahmad",),
    "Yusuf": ("Yousef", "Joseph"),
    "Abdullahi": ("Abdi",),
    "Katherine": ("Kate", "Kathy", "Katie", "Kath"),
    "Catherine": ("Cath", "Cathy", "Kate", "Katie"),
    "Elizabeth": ("Liz", "Lizzie", "Beth", "Betty"),
    "Margaret": ("Maggie", "Meg", "Peggy"),
    "Rebecca": ("Becky", "Becca"),
    "Jennifer": ("Jen", "Jenny"),
    "Samantha": ("Sam", "Sammy"),
    "Victoria": ("Vicky", "Tori"),
    "Jacqueline": ("Jackie",),
    "Patricia": ("Pat", "Trish"),
    "Susan": ("Sue", "Suzy"),
    "Deborah": ("Debbie", "Deb"),
    "Nicola": ("Nicky", "Nikki"),
    "Christine": ("Chris", "Chrissie"),
    "Alexandra": ("Alex",),
    "Charlotte": ("Charlie", "Lottie"),
    "Abigail": ("Abbie", "Abby"),
    "Jessica": ("Jess", "Jessie"),
    "Natalie": ("Nat",),
    "Stephanie": ("Steph",),
    "Joanne": ("Jo",),
    "Joanna": ("Jo",),
    "Tracey": ("Tracy",),
    "Tracy": ("Tracey",),
    "Hannah": ("Hanna",),
    "Kathleen": ("Kath", "Kathy"),
    "Fatima": ("Fatma",),
    "Piotr": ("Peter",),
    "Krzysztof": ("Chris",),
    "Tomasz": ("Tom", "Tomek"),
    "Pawel": ("Paul",),
    "Michal": ("Michael", "Mike"),
    "Jakub": ("Kuba", "Jacob"),
    "Katarzyna": ("Kasia", "Kate"),
    "Malgorzata": ("Gosia",),
    "Aleksandra": ("Ola", "Alex"),
    "Magdalena": ("Magda",),
    "Alexandru": ("Alex",),
    "Gheorghe": ("George",),
    "Ion": ("John",),
    "Joao": ("John",),
    "Giuseppe": ("Joe",),
}


def _words(block: str) -> tuple[str, ...]:
    # Keep the first occurrence of each name, in order (deterministic, no set ordering).
    seen: dict[str, None] = {}
    for w in block.split():
        seen.setdefault(w, None)
    return tuple(seen)


FIRST_NAMES: dict[tuple[str, str], tuple[str, ...]] = {
    ("uk", "male"): _words(UK_MALE),
    ("uk", "female"): _words(UK_FEMALE),
    ("eu", "male"): _words(EU_MALE),
    ("eu", "female"): _words(EU_FEMALE),
    ("non_eu", "male"): _words(NON_EU_MALE),
    ("non_eu", "female"): _words(NON_EU_FEMALE),
}
SURNAMES: dict[str, tuple[str, ...]] = {
    "uk": _words(UK_SURNAMES),
    "eu": _words(EU_SURNAMES),
    "non_eu": _words(NON_EU_SURNAMES),
}
